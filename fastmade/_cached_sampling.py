"""Cached sampling: sorted copies of each member, handed to the compiled kernel.

The kernel (``_cached_sampler.pyx`` over ``csrc/cached_sampler.c``) wants one
member in sorted coordinates: inputs in the member's generation order and the
units of every hidden layer sorted by degree, so that each unit reads a prefix
of the layer below. Members share weights but not degrees, so each member gets
its own permuted copy, built once and kept until the weights change. A single
member whose degrees are already sorted (the usual case) needs no copy at all.
"""

from dataclasses import dataclass

import numpy as np

from . import _cached_sampler


@dataclass
class SortedMember:
    """One member's parameters in sorted coordinates."""

    weights: list
    biases: list
    degrees: list
    out_weight: np.ndarray
    out_bias: np.ndarray
    direct_weight: np.ndarray
    generation_order: np.ndarray


def _take(array, rows=None, columns=None):
    """``array[rows][:, columns]`` as a C-contiguous array, copying only if needed."""
    if rows is not None:
        array = array[rows]
    if columns is not None:
        array = array[:, columns]
    return np.ascontiguousarray(array)


def _identity_or(permutation):
    """None when ``permutation`` changes nothing, else the permutation."""
    return None if np.array_equal(permutation, np.arange(permutation.size)) else permutation


def sort_member(network, member):
    """Build the sorted copy of one member of a :class:`MADENetwork`."""
    n_layers = len(network.biases) - 1
    n_params = network.conditional.n_params
    order = network.generation_order(member)
    inputs = _identity_or(order)
    outputs = None
    if inputs is not None:
        outputs = (order[:, None] * n_params + np.arange(n_params)).ravel()

    hidden = network.hidden_degrees[member]
    units = [_identity_or(np.argsort(layer, kind="stable")) for layer in hidden]
    weights, biases, degrees = [], [], []
    previous = inputs
    for layer in range(n_layers):
        weights.append(_take(network.weights[layer], previous, units[layer]))
        biases.append(_take(network.biases[layer], units[layer]))
        degrees.append(_take(hidden[layer], units[layer]))
        previous = units[layer]

    direct = None
    if len(network.weights) > n_layers + 1:
        direct = _take(network.weights[n_layers + 1], inputs, outputs)
    return SortedMember(
        weights=weights,
        biases=biases,
        degrees=degrees,
        out_weight=_take(network.weights[n_layers], previous, outputs),
        out_bias=_take(network.biases[n_layers], outputs),
        direct_weight=direct,
        generation_order=order,
    )


def sample_member_cached(network, member, noise, n_jobs=1):
    """Draw rows from one member with the cached kernel.

    Parameters and result are those of
    :func:`fastmade._naive_sampler.sample_member_naive`, plus ``n_jobs``, the
    number of threads the tiles of rows are spread over.
    """
    sorted_member = network.sorted_member(member, sort_member)
    n_rows = noise.shape[0]
    generated = np.empty((n_rows, network.n_features), dtype=network.dtype)
    _cached_sampler.sample_member(
        sorted_member.weights,
        sorted_member.biases,
        sorted_member.degrees,
        sorted_member.out_weight,
        sorted_member.out_bias,
        sorted_member.direct_weight,
        _cached_sampler.ACTIVATIONS[network.activation],
        _cached_sampler.CONDITIONALS[network.conditional.name],
        np.ascontiguousarray(noise),
        generated,
        n_jobs=n_jobs,
    )
    if _identity_or(sorted_member.generation_order) is None:
        return generated
    Xc = np.empty_like(generated)
    Xc[:, sorted_member.generation_order] = generated
    return Xc
