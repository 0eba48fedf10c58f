"""A MADE network with its mask members, and its log-likelihood.

:class:`MADENetwork` holds the shared weights and the degrees of every member of
a mask ensemble; everything else (masks, orders) is derived from those. The
log-likelihood of an ensemble is the mean of the members' likelihoods, computed
as ``logsumexp_k log p_k(x) - log K``: averaging the members' logits instead
would not give a normalised density.
"""

import numpy as np
from scipy.special import logsumexp

from ._masks import canonical_input_degrees, member_masks
from ._network import apply_masks, forward


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
    """

    def __init__(self, weights, biases, orderings, hidden_degrees, activation, conditional):
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
        # Sorted copies are a cache: rebuilt on demand, never stored.
        state = self.__dict__.copy()
        state.pop("_sorted", None)
        return state

    def sorted_member(self, member, build):
        """``build(self, member)``, computed once per member and then kept.

        Callers that change the weights must call :meth:`forget_sorted`.
        """
        cache = self.__dict__.setdefault("_sorted", {})
        if member not in cache:
            cache[member] = build(self, member)
        return cache[member]

    def forget_sorted(self):
        """Drop the sorted copies, after the weights changed."""
        self.__dict__.pop("_sorted", None)

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
        masked = apply_masks(self.weights, self.masks[member])
        out, _ = forward(masked, self.biases, Xc, self.activation)
        return out

    def log_likelihood(self, Xc):
        """log p(x) in nats for every row of canonical inputs ``Xc`` (float64)."""
        per_member = np.empty((self.n_masks, Xc.shape[0]))
        for member in range(self.n_masks):
            out = self.member_output(member, Xc).astype(np.float64)
            per_member[member] = self.conditional.log_prob(Xc, out).sum(axis=1)
        if self.n_masks == 1:
            return per_member[0]
        return logsumexp(per_member, axis=0) - np.log(self.n_masks)
