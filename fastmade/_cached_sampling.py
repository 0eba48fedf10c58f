"""Cached sampling: sorted copies of each member, handed to the compiled kernel.

The kernel (``_cached_sampler.pyx`` over ``csrc/cached_sampler.c``) wants one
member in sorted coordinates: inputs in the member's generation order and the
units of every hidden layer sorted by degree (see ``_layouts``). Each member
gets its own permuted copy, built once and kept until the weights change; a
single member needs no copy at all.
"""

from dataclasses import dataclass

import numpy as np
from joblib import effective_n_jobs

from . import _cached_sampler
from ._layouts import sorted_parameters


@dataclass
class SortedMember:
    """One member's parameters in sorted coordinates (see ``_layouts``)."""

    weights: list
    biases: list
    degrees: list
    out_weight: np.ndarray
    out_bias: np.ndarray
    direct_weight: np.ndarray
    generation_order: np.ndarray


def sort_member(network, member):
    """Build the sorted copy of one member of a :class:`MADENetwork`."""
    layout = network.member_layout(member)
    weights, biases = sorted_parameters(layout, network.weights, network.biases)
    n_layers = len(biases) - 1
    return SortedMember(
        weights=weights[:n_layers],
        biases=biases[:n_layers],
        degrees=layout.degrees,
        out_weight=weights[n_layers],
        out_bias=biases[n_layers],
        direct_weight=weights[n_layers + 1] if len(weights) > n_layers + 1 else None,
        generation_order=layout.generation_order,
    )


def sample_member_cached(network, member, noise, n_jobs=1, params_out=None):
    """Draw rows from one member with the cached kernel.

    Parameters and result are those of
    :func:`fastmade._naive_sampler.sample_member_naive`, plus ``n_jobs``, the
    number of threads the tiles of rows are spread over (read as scikit-learn
    reads it: None is 1, -1 all cores), and ``params_out``, an
    optional (n_samples, D * P) array that receives the conditionals' parameters
    in the member's generation order.
    """
    sorted_member = network.cached(("sorted", member), sort_member, member)
    n_rows = noise.shape[0]
    # One tile runs on one thread; resolving n_jobs would cost more than a row.
    n_jobs = effective_n_jobs(n_jobs) if n_rows > _cached_sampler.TILE_ROWS else 1
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
        params_out=params_out,
        n_jobs=n_jobs,
        n_components=getattr(network.conditional, "n_components", 1),
    )
    if network.member_layout(member).input_perm is None:
        return generated
    Xc = np.empty_like(generated)
    Xc[:, sorted_member.generation_order] = generated
    return Xc
