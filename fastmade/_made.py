"""A MADE network with its mask members, and its log-likelihood.

:class:`MADENetwork` holds the shared weights and the degrees of every member of
a mask ensemble; everything else (masks, orders) is derived from those. The
log-likelihood of an ensemble is the mean of the members' likelihoods, computed
as ``logsumexp_k log p_k(x) - log K``: averaging the members' logits instead
would not give a normalised density.
"""

import numpy as np
from scipy.special import logsumexp

from ._layouts import member_layout
from ._masks import canonical_input_degrees, member_masks
from ._network import forward
from ._products import MemberProducts


STANDARD_LIMIT = 1e15


class MADENetwork:
    """Weights, degrees and masks of a (possibly ensembled) MADE.

    Parameters
    ----------
    weights, biases : list of ndarray
        Shared parameters, see ``_network``.
    orderings : ndarray of shape (n_masks, n_features)
        Generation order of every member, in user column indices.
    hidden_degrees : list of list of ndarray
        ``hidden_degrees[k][l]``: degrees of the units of layer l for member k.
    activation : str
    conditional : class from ``_conditionals``
    masked_product : {"staircase", "dense"}, default="staircase"
        How the masked products are computed (see ``_products``).
    shift, scale : ndarray of shape (n_features,) or None, default=None
        Standardisation of real-valued inputs, in canonical order: the network
        models ``(x - shift) / scale``.
    """

    def __init__(
        self,
        weights,
        biases,
        orderings,
        hidden_degrees,
        activation,
        conditional,
        masked_product="staircase",
        shift=None,
        scale=None,
    ):
        self.masked_product = masked_product
        self.shift = shift
        self.scale = scale
        self.weights = weights
        self.biases = biases
        self.orderings = orderings
        self.hidden_degrees = hidden_degrees
        self.activation = activation
        self.conditional = conditional
        self.input_degrees = canonical_input_degrees(orderings)
        direct = len(weights) > len(biases)
        dtype = weights[0].dtype
        self.masks = [
            member_masks(degrees, hidden, conditional.n_params, direct, dtype)
            for degrees, hidden in zip(self.input_degrees, hidden_degrees)
        ]

    def __getstate__(self):
        # Derived values are a cache: rebuilt on demand, never stored.
        state = self.__dict__.copy()
        state.pop("_cache", None)
        return state

    def cached(self, key, build, member):
        """``build(self, member)``, computed once per key and then kept.

        Callers that change the weights must call :meth:`forget_sorted`.
        """
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            cache[key] = build(self, member)
        return cache[key]

    def member_layout(self, member):
        """The :class:`~fastmade._layouts.MemberLayout` of one member."""
        return self.cached(("layout", member), member_layout, member)

    def forget_sorted(self):
        """Drop the sorted copies of the weights, after the weights changed."""
        cache = self.__dict__.get("_cache", {})
        for key in [key for key in cache if key[0] != "layout"]:
            del cache[key]

    @property
    def n_masks(self):
        return len(self.masks)

    @property
    def n_features(self):
        return self.orderings.shape[1]

    @property
    def dtype(self):
        return self.weights[0].dtype

    def generation_order(self, member):
        """Canonical indices of the inputs in the order ``member`` generates them."""
        return np.argsort(self.input_degrees[member], kind="stable")

    def member_output(self, member, Xc):
        """Conditional parameters of ``member`` for canonical inputs ``Xc``."""
        member_products = MemberProducts(self, member, self.masked_product)
        X = member_products.inputs(Xc)
        out, _ = forward(
            member_products.products, member_products.biases, X, self.activation
        )
        return member_products.outputs(out)

    def standardize(self, Xc):
        """Canonical inputs in the units the network models, in its dtype.

        Standardised values are clipped to +-1e15 standard deviations, far
        beyond any training row, so that no finite input overflows float32
        and the log-density stays finite (and astronomically small).
        """
        if self.scale is None:
            return np.asarray(Xc, dtype=self.dtype)
        Z = (Xc - self.shift) / self.scale
        return np.clip(Z, -STANDARD_LIMIT, STANDARD_LIMIT, out=Z).astype(self.dtype)

    def unstandardize(self, Zc, out):
        """Write rows the network drew into ``out``, in the data's units and order.

        ``Zc`` holds standardised values in canonical order; ``out`` is float64,
        with the features in the order of the data.
        """
        if self.scale is not None:
            Zc = Zc * self.scale + self.shift
        if self.cached(("natural",), has_natural_order, None):
            out[...] = Zc
        else:
            out[:, self.orderings[0]] = Zc

    def log_likelihood(self, Xc):
        """log p(x) in nats for every row of standardised canonical inputs.

        Returns float64 log-densities in the units of the data: the
        standardisation's log-determinant is included.
        """
        per_member = np.empty((self.n_masks, Xc.shape[0]))
        for member in range(self.n_masks):
            member_products = MemberProducts(self, member, self.masked_product)
            X = member_products.inputs(Xc)
            out, _ = forward(
                member_products.products, member_products.biases, X, self.activation
            )
            log_prob = self.conditional.log_prob(X, out.astype(np.float64))
            per_member[member] = log_prob.sum(axis=1)
        if self.n_masks == 1:
            log_density = per_member[0]
        else:
            log_density = logsumexp(per_member, axis=0) - np.log(self.n_masks)
        if self.scale is not None:
            log_density -= np.log(self.scale).sum()
        return log_density


def has_natural_order(network, member=None):
    """Whether the canonical order of ``network`` is the order of the data."""
    return bool(np.array_equal(network.orderings[0], np.arange(network.n_features)))
