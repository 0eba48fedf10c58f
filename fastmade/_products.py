"""The masked products of a network, dense or staircase.

Every masked layer needs three products: forward (``h @ (W * M)``), gradient
with respect to its input (``d @ (W * M).T``) and with respect to its weights
(``(h.T @ d) * M``). :class:`DenseProducts` computes them with dense GEMMs, the
reference. :class:`StaircaseProducts` works in a member's sorted coordinates,
where each mask is a staircase, and calls the compiled kernel that multiplies
only the prefix each block of units can read, skipping about half the work.
"""

import numpy as np

from . import _staircase
from ._layouts import from_sorted, sorted_parameters, to_sorted
from ._network import apply_masks

MASKED_PRODUCTS = ("staircase", "dense")


class DenseProducts:
    """Dense GEMMs with the masked weights ``masked[i] = W_i * M_i``."""

    def __init__(self, masked, masks):
        self.masked = masked
        self.masks = masks

    def forward(self, h, i, out=None):
        """``h @ masked[i]``, added to ``out`` when it is given."""
        if out is None:
            return h @ self.masked[i]
        out += h @ self.masked[i]
        return out

    def grad_input(self, d, i):
        return d @ self.masked[i].T

    def grad_weight(self, h, d, i):
        return (h.T @ d) * self.masks[i]


class StaircaseProducts:
    """Staircase products with sorted masked weights and their prefixes."""

    def __init__(self, masked, prefixes):
        self.masked = masked
        self.prefixes = prefixes

    def forward(self, h, i, out=None):
        W = self.masked[i]
        h = np.ascontiguousarray(h)
        if out is None:
            out = np.empty((h.shape[0], W.shape[1]), dtype=W.dtype)
            return _staircase.staircase_forward(h, W, self.prefixes[i], out)
        return _staircase.staircase_forward(h, W, self.prefixes[i], out, beta=1.0)

    def grad_input(self, d, i):
        W = self.masked[i]
        out = np.empty((d.shape[0], W.shape[0]), dtype=W.dtype)
        return _staircase.staircase_grad_input(
            np.ascontiguousarray(d), W, self.prefixes[i], out
        )

    def grad_weight(self, h, d, i):
        out = np.empty_like(self.masked[i])
        return _staircase.staircase_grad_weight(
            np.ascontiguousarray(h), np.ascontiguousarray(d), self.prefixes[i], out
        )


class MemberProducts:
    """One member's products, biases and input order for a given kind.

    Parameters
    ----------
    network : MADENetwork
    member : int
    kind : {"staircase", "dense"}

    Attributes
    ----------
    products : DenseProducts or StaircaseProducts
    biases : list of ndarray
        Biases in the coordinates of the products.
    layout : MemberLayout or None
        The sorted coordinates, for the staircase.
    """

    def __init__(self, network, member, kind):
        masks = network.masks[member]
        # A single member keeps its weights masked, so they need no masking.
        if kind == "dense" or network.n_masks > 1:
            masked = apply_masks(network.weights, masks)
        else:
            masked = network.weights
        if kind == "dense":
            self.products = DenseProducts(masked, masks)
            self.biases = network.biases
            self.layout = None
            return

        layout = network.member_layout(member)
        self.layout = layout
        weights, self.biases = sorted_parameters(layout, masked, network.biases)
        self.products = StaircaseProducts(weights, layout.prefixes)

    def inputs(self, Xc):
        """Canonical inputs in the coordinates of the products."""
        if self.layout is None or self.layout.input_perm is None:
            return Xc
        return to_sorted(Xc, None, self.layout.input_perm)

    def outputs(self, out):
        """Outputs of the products back in canonical order."""
        if self.layout is None:
            return out
        return from_sorted(out, None, self.layout.bias_perms[-1])

    def stored_gradients(self, grad_weights, grad_biases):
        """Gradients in the coordinates the weights are stored in."""
        if self.layout is None:
            return grad_weights + grad_biases
        weights = [
            from_sorted(g, *perms)
            for g, perms in zip(grad_weights, self.layout.weight_perms)
        ]
        biases = [
            from_sorted(g, perm) for g, perm in zip(grad_biases, self.layout.bias_perms)
        ]
        return weights + biases
