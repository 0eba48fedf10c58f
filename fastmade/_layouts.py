"""Sorted coordinates of a mask member, where every mask is a staircase.

Permuting the units of a layer does not change the function the network
computes. Put a member's inputs in its generation order and the units of every
hidden layer in order of degree, and each unit reads a prefix of the layer
below: the masks become staircases, described by one prefix length per unit.
Both compiled kernels work in these coordinates. Members share weights but not
degrees, so each member has its own permutations; a single member whose hidden
degrees are sorted (fastmade draws them so) needs none.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class MemberLayout:
    """Permutations and staircase prefixes of one member.

    ``weight_perms[i]`` is the (rows, columns) pair that takes weight i into
    sorted coordinates, ``bias_perms[i]`` the same for bias i; None means the
    axis is already sorted. ``prefixes[i][k]`` is how many rows column k of
    sorted weight i may read. ``degrees`` are the sorted hidden degrees and
    ``generation_order`` the canonical input generated at each step.
    """

    weight_perms: list
    bias_perms: list
    prefixes: list
    degrees: list
    generation_order: np.ndarray

    @property
    def input_perm(self):
        return self.weight_perms[0][0]


def _identity_or(permutation):
    """None when ``permutation`` changes nothing, else the permutation."""
    if np.array_equal(permutation, np.arange(permutation.size)):
        return None
    return permutation


def output_columns(order, n_params):
    """Output columns of the inputs ``order``, each with its ``n_params`` columns."""
    return (order[:, None] * n_params + np.arange(n_params)).ravel()


def member_layout(network, member):
    """Compute the :class:`MemberLayout` of one member of a MADENetwork."""
    n_params = network.conditional.n_params
    n_features = network.n_features
    order = network.generation_order(member)
    inputs = _identity_or(order)
    outputs = None
    if inputs is not None:
        outputs = output_columns(order, n_params)

    hidden = network.hidden_degrees[member]
    units = [_identity_or(np.argsort(layer, kind="stable")) for layer in hidden]
    degrees = [np.sort(layer) for layer in hidden]

    weight_perms, bias_perms, prefixes = [], [], []
    previous, previous_degrees = inputs, np.arange(1, n_features + 1)
    for layer_units, layer_degrees in zip(units, degrees):
        weight_perms.append((previous, layer_units))
        bias_perms.append(layer_units)
        prefixes.append(np.searchsorted(previous_degrees, layer_degrees, "right"))
        previous, previous_degrees = layer_units, layer_degrees

    # Output d (degree d + 1) reads hidden units of degree <= d, inputs before d.
    output_degree = np.repeat(np.arange(1, n_features + 1), n_params)
    weight_perms.append((previous, outputs))
    bias_perms.append(outputs)
    prefixes.append(np.searchsorted(previous_degrees, output_degree, "left"))
    if len(network.weights) > len(network.biases):
        weight_perms.append((inputs, outputs))
        prefixes.append(output_degree - 1)
    return MemberLayout(weight_perms, bias_perms, prefixes, degrees, order)


def to_sorted(array, rows=None, columns=None):
    """``array[rows][:, columns]`` as a C-contiguous array, copying only if needed."""
    if rows is not None:
        array = array[rows]
    if columns is not None:
        array = array[:, columns]
    return np.ascontiguousarray(array)


def sorted_parameters(layout, weights, biases):
    """Weights and biases of one member taken into its sorted coordinates."""
    return (
        [to_sorted(W, *perms) for W, perms in zip(weights, layout.weight_perms)],
        [to_sorted(b, perm) for b, perm in zip(biases, layout.bias_perms)],
    )


def from_sorted(array, rows=None, columns=None):
    """Inverse of :func:`to_sorted`: put a sorted array back in stored order."""
    if rows is None and columns is None:
        return array
    result = np.empty_like(array)
    if array.ndim == 1:
        result[rows] = array
        return result
    rows = np.arange(array.shape[0]) if rows is None else rows
    columns = np.arange(array.shape[1]) if columns is None else columns
    result[np.ix_(rows, columns)] = array
    return result
