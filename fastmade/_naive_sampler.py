"""Naive sampling: one full forward pass per dimension.

This is how every public MADE implementation samples, and fastmade keeps it as
the reference for the cached kernel and as the baseline of the benchmarks.
"""

import numpy as np

from ._network import apply_masks, forward
from ._products import DenseProducts


def sample_member_naive(network, member, noise):
    """Draw rows from one member of ``network`` with D forward passes.

    Parameters
    ----------
    network : MADENetwork
    member : int
    noise : ndarray of shape (n_samples, n_features, n_noise)
        ``noise[n, i]`` are the random numbers of the i-th generated dimension
        of row n.

    Returns
    -------
    Xc : ndarray of shape (n_samples, n_features)
        Samples in canonical order, in the network's dtype.
    """
    return naive_passes(network, member, noise, network.generation_order(member))


def naive_passes(network, member, noise, order):
    """Fill the canonical inputs ``order`` one forward pass each, in that order.

    With the member's full generation order this is naive sampling; a prefix of
    it runs the first passes only, which costs the same per pass.
    """
    n_params = network.conditional.n_params
    Xc = np.zeros((noise.shape[0], network.n_features), dtype=network.dtype)
    # The masks do not change between passes, so mask the weights once.
    masks = network.masks[member]
    products = DenseProducts(apply_masks(network.weights, masks), masks)
    for step, d in enumerate(order):
        out, _ = forward(products, network.biases, Xc, network.activation)
        columns = out[:, d * n_params : (d + 1) * n_params]
        Xc[:, d] = network.conditional.sample(columns, noise[:, step])
    return Xc
