"""Orderings, hidden degrees and the masks they define.

A MADE network is autoregressive because of its connectivity alone. Every input
gets a degree (its position in the ordering, 1..D) and every hidden unit a degree
in [1, D-1]; a unit reads the units of the previous layer whose degree is not
larger than its own, and the output of the input of degree i reads the last
hidden units whose degree is smaller than i.

Inside fastmade, inputs are stored in *canonical* order: the generation order of
the first mask member. The members of an ensemble share the weights and differ
by their input degrees (in canonical order) and hidden degrees.
"""

import warnings

import numpy as np

ORDERINGS = ("natural", "random")
DEGREE_SCHEMES = ("random", "equal")


def draw_orderings(ordering, n_features, n_masks, rng):
    """Draw the generation order of every mask member.

    Parameters
    ----------
    ordering : {"natural", "random"} or array-like of int
        ``"natural"`` generates the columns left to right, ``"random"`` draws a
        permutation per member, an array is a permutation shared by all members.
    n_features : int
        Number of input columns D.
    n_masks : int
        Number of mask members K.
    rng : numpy.random.RandomState
        Source of every random choice.

    Returns
    -------
    orderings : ndarray of shape (n_masks, n_features), dtype intp
        ``orderings[k, i]`` is the column that member k generates i-th.
    """
    if isinstance(ordering, str):
        if ordering == "natural":
            return np.tile(np.arange(n_features), (n_masks, 1))
        return np.stack([rng.permutation(n_features) for _ in range(n_masks)])

    order = np.asarray(ordering)
    if (
        order.shape != (n_features,)
        or order.dtype.kind not in "iu"
        or not np.array_equal(np.sort(order), np.arange(n_features))
    ):
        raise ValueError(
            f"ordering must be 'natural', 'random' or a permutation of the "
            f"integers 0..{n_features - 1}, one per feature; got {ordering!r}."
        )
    return np.tile(order.astype(np.intp), (n_masks, 1))


def canonical_input_degrees(orderings):
    """Input degrees of every member, with inputs in canonical order.

    Canonical order is the generation order of member 0, so member 0 has the
    degrees 1..D in order.

    Returns
    -------
    degrees : ndarray of shape (n_masks, n_features), dtype intp
    """
    n_masks, n_features = orderings.shape
    position = np.empty_like(orderings)
    rows = np.arange(n_masks)[:, None]
    position[rows, orderings] = np.arange(n_features)
    return position[:, orderings[0]] + 1


def draw_hidden_degrees(layer_sizes, n_features, scheme, rng):
    """Draw the degrees of the hidden units of one mask member.

    Degrees of layer l lie in [min degree of layer l-1, D-1], so every unit has
    at least one input. When a layer is at least as wide as that range, every
    degree in it is given to at least one unit; otherwise some degrees go
    without a unit and the conditionals past them lose some inputs. Degrees are
    returned sorted: permuting the units of a layer does not change the
    function the network computes, and sorted degrees make every mask a
    staircase.

    Parameters
    ----------
    layer_sizes : sequence of int
    n_features : int
    scheme : {"random", "equal"}
        ``"random"`` draws degrees uniformly as in the MADE paper, ``"equal"``
        spreads them evenly over the range.
    rng : numpy.random.RandomState

    Returns
    -------
    degrees : list of ndarray of dtype intp, sorted
    """
    # With D = 1 no hidden unit can feed an output; degree 1 keeps masks valid.
    high = max(n_features - 1, 1)
    low = 1
    degrees = []
    for size in layer_sizes:
        span = high - low + 1
        if scheme == "equal":
            layer = low + (np.arange(size) * span) // size
        elif size >= span:
            layer = np.concatenate(
                [np.arange(low, high + 1), rng.randint(low, high + 1, size - span)]
            )
        else:
            layer = rng.randint(low, high + 1, size)
        layer = np.sort(layer).astype(np.intp)
        degrees.append(layer)
        low = int(layer[0])
    return degrees


def lost_connections(hidden_degrees, n_features):
    """Return whether some conditional cannot see all of its predecessors.

    The input of degree i reaches the output of degree i+1 only through a chain
    of units of degree exactly i, so every layer must hold every degree 1..D-1.
    """
    wanted = np.arange(1, n_features)
    return any(not np.isin(wanted, layer).all() for layer in hidden_degrees)


def warn_if_lost(members, n_features, direct_connections):
    """Warn once if a hidden layer is too narrow for every path to exist."""
    if any(lost_connections(hidden, n_features) for _, hidden in members):
        how = (
            "they still see them linearly through the direct connections"
            if direct_connections
            else "set direct_connections=True to keep a linear path"
        )
        warnings.warn(
            f"Some hidden layer has fewer units than the {n_features - 1} degrees "
            f"it would need, so some conditionals lose part of their inputs through "
            f"the hidden layers ({how}). Use hidden layers at least "
            f"{n_features - 1} wide to avoid this.",
            UserWarning,
            stacklevel=3,
        )


def hidden_mask(degrees_in, degrees_out, dtype):
    """Mask of a hidden layer, shape (n_in, n_out): 1 where m_out >= m_in."""
    return (degrees_out[None, :] >= degrees_in[:, None]).astype(dtype)


def output_mask(hidden_degrees_last, input_degrees, n_params, dtype):
    """Mask of the output layer, shape (n_hidden, D * n_params).

    Output column ``d * n_params + p`` is parameter p of the conditional of
    canonical input d, which reads units of degree smaller than that input's.
    """
    mask = input_degrees[None, :] > hidden_degrees_last[:, None]
    return np.repeat(mask, n_params, axis=1).astype(dtype)


def direct_mask(input_degrees, n_params, dtype):
    """Mask of the direct input-to-output connections, shape (D, D * n_params)."""
    mask = input_degrees[None, :] > input_degrees[:, None]
    return np.repeat(mask, n_params, axis=1).astype(dtype)


def member_masks(input_degrees, hidden_degrees, n_params, direct, dtype):
    """All masks of one member, in the order of the weight matrices.

    Returns
    -------
    masks : list of ndarray
        One mask per hidden layer, then the output mask, then the direct mask
        if ``direct``.
    """
    masks = []
    previous = input_degrees
    for layer in hidden_degrees:
        masks.append(hidden_mask(previous, layer, dtype))
        previous = layer
    masks.append(output_mask(previous, input_degrees, n_params, dtype))
    if direct:
        masks.append(direct_mask(input_degrees, n_params, dtype))
    return masks
