"""The staircase products agree with the dense masked products of NumPy."""

import doctest

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

staircase = pytest.importorskip("fastmade._staircase")
choose_block = staircase.choose_block
staircase_forward = staircase.staircase_forward
staircase_grad_input = staircase.staircase_grad_input
staircase_grad_weight = staircase.staircase_grad_weight

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def make_prefix(kind, n_in, n_out, rng):
    """A non-decreasing prefix of one of the shapes MADE layers produce."""
    if kind == "random":
        return np.sort(rng.integers(0, n_in + 1, size=n_out))
    if kind == "runs":
        # Long flat runs with jumps between them, as sorted degrees give.
        levels = np.sort(rng.choice(n_in + 1, size=min(4, n_in + 1), replace=False))
        return np.sort(rng.choice(levels, size=n_out))
    if kind == "made":
        # Hidden units with degrees in [1, n_in - 1] read inputs of degree <= m.
        return np.sort(rng.integers(1, max(n_in, 2), size=n_out)).clip(0, n_in)
    if kind == "zeros":
        return np.zeros(n_out, dtype=np.intp)
    if kind == "full":
        return np.full(n_out, n_in, dtype=np.intp)
    raise ValueError(kind)


def make_layer(n_rows, n_in, n_out, kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    prefix = make_prefix(kind, n_in, n_out, rng)
    mask = np.arange(n_in)[:, None] < prefix[None, :]
    W = (rng.standard_normal((n_in, n_out)) * mask).astype(dtype)
    X = rng.standard_normal((n_rows, n_in)).astype(dtype)
    dY = rng.standard_normal((n_rows, n_out)).astype(dtype)
    return X, W, dY, prefix, mask


def relative_error(got, want):
    """Frobenius-norm relative error; an all-zero reference needs exact zeros."""
    want = np.asarray(want, dtype=np.float64)
    scale = np.linalg.norm(want)
    diff = np.linalg.norm(np.asarray(got, dtype=np.float64) - want)
    return diff / scale if scale > 0 else diff


# (n_rows, n_in, n_out, prefix kind)
SHAPES = [
    (50, 30, 20, "random"),
    (1, 1, 1, "full"),
    (1, 1, 1, "zeros"),
    (7, 1, 5, "random"),
    (7, 5, 1, "random"),
    (40, 100, 3, "random"),
    (40, 3, 100, "random"),
    (33, 64, 64, "runs"),
    (90, 200, 150, "runs"),
    (65, 40, 30, "zeros"),
    (65, 40, 30, "full"),
    (130, 257, 129, "made"),
    (120, 129, 257, "made"),
    (1100, 70, 90, "random"),  # enough rows for grad_input to transpose W
]
SHAPE_IDS = ["x".join(map(str, s[:3])) + "-" + s[3] for s in SHAPES]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows, n_in, n_out, kind", SHAPES, ids=SHAPE_IDS)
def test_forward_matches_dense_masked_product(n_rows, n_in, n_out, kind, dtype):
    X, W, _, prefix, mask = make_layer(n_rows, n_in, n_out, kind, dtype)
    out = np.full((n_rows, n_out), np.nan, dtype=dtype)

    result = staircase_forward(X, W, prefix, out)

    assert result is out
    want = X.astype(np.float64) @ (W * mask).astype(np.float64)
    assert relative_error(out, want) <= TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows, n_in, n_out, kind", SHAPES, ids=SHAPE_IDS)
def test_grad_input_matches_dense_masked_product(n_rows, n_in, n_out, kind, dtype):
    _, W, dY, prefix, mask = make_layer(n_rows, n_in, n_out, kind, dtype)
    out = np.full((n_rows, n_in), np.nan, dtype=dtype)

    result = staircase_grad_input(dY, W, prefix, out)

    assert result is out
    want = dY.astype(np.float64) @ (W * mask).astype(np.float64).T
    assert relative_error(out, want) <= TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows, n_in, n_out, kind", SHAPES, ids=SHAPE_IDS)
def test_grad_weight_matches_masked_dense_product(n_rows, n_in, n_out, kind, dtype):
    X, _, dY, prefix, mask = make_layer(n_rows, n_in, n_out, kind, dtype)
    out = np.full((n_in, n_out), np.nan, dtype=dtype)

    result = staircase_grad_weight(X, dY, prefix, out)

    assert result is out
    want = (X.astype(np.float64).T @ dY.astype(np.float64)) * mask
    assert relative_error(out, want) <= TOLERANCE[dtype]
    assert np.all(out[~mask] == 0), "entries outside the staircase must be exact zeros"


@pytest.mark.parametrize("dtype", DTYPES)
def test_made_layers_match_dense_masked_products(dtype):
    # Inputs in natural order, one hidden layer with sorted random degrees.
    rng = np.random.default_rng(3)
    D, H, N = 40, 60, 300
    degrees = np.sort(rng.integers(1, D, size=H))
    hidden_prefix = degrees
    output_prefix = np.searchsorted(degrees, np.arange(D), side="right")
    M1 = np.arange(D)[:, None] < hidden_prefix
    M2 = np.arange(H)[:, None] < output_prefix
    W1 = (rng.standard_normal((D, H)) * M1).astype(dtype)
    W2 = (rng.standard_normal((H, D)) * M2).astype(dtype)
    X = (rng.random((N, D)) < 0.5).astype(dtype)
    Hid = np.tanh(X @ W1)
    dY = rng.standard_normal((N, D)).astype(dtype)
    tol = TOLERANCE[dtype]

    out = staircase_forward(X, W1, hidden_prefix, np.empty((N, H), dtype))
    assert relative_error(out, X @ (W1 * M1)) <= tol
    out = staircase_forward(Hid, W2, output_prefix, np.empty((N, D), dtype))
    assert relative_error(out, Hid @ (W2 * M2)) <= tol
    out = staircase_grad_input(dY, W2, output_prefix, np.empty((N, H), dtype))
    assert relative_error(out, dY @ (W2 * M2).T) <= tol
    out = staircase_grad_weight(Hid, dY, output_prefix, np.empty((H, D), dtype))
    assert relative_error(out, (Hid.T @ dY) * M2) <= tol


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows, n_in, n_out, kind", SHAPES, ids=SHAPE_IDS)
def test_block_size_does_not_change_the_result(n_rows, n_in, n_out, kind, dtype):
    X, W, dY, prefix, _ = make_layer(n_rows, n_in, n_out, kind, dtype)
    tol = TOLERANCE[dtype]
    results = {}
    for block in (None, 1, 7, 64):
        results[block] = (
            staircase_forward(
                X, W, prefix, np.empty((n_rows, n_out), dtype), block=block
            ),
            staircase_grad_input(
                dY, W, prefix, np.empty((n_rows, n_in), dtype), block=block
            ),
            staircase_grad_weight(
                X, dY, prefix, np.empty((n_in, n_out), dtype), block=block
            ),
        )
    for block in (1, 7, 64):
        for got, want in zip(results[block], results[None]):
            assert relative_error(got, want) <= tol, f"block={block}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_one_accumulates_into_out(dtype):
    X, W, dY, prefix, mask = make_layer(60, 50, 40, "made", dtype)
    rng = np.random.default_rng(1)
    previous_y = rng.standard_normal((60, 40)).astype(dtype)
    previous_x = rng.standard_normal((60, 50)).astype(dtype)

    y = staircase_forward(X, W, prefix, previous_y.copy(), beta=1.0)
    dx = staircase_grad_input(dY, W, prefix, previous_x.copy(), beta=1.0)

    tol = TOLERANCE[dtype]
    assert relative_error(y, X @ (W * mask) + previous_y) <= tol
    assert relative_error(dx, dY @ (W * mask).T + previous_x) <= tol


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_scales_out_also_where_no_unit_reads(dtype):
    # Columns with prefix 0 (forward) and inputs no unit reads (grad_input)
    # still get beta * out.
    X, W, dY, _, _ = make_layer(20, 10, 12, "zeros", dtype)
    prefix = np.r_[np.zeros(6, dtype=np.intp), np.full(6, 4)]
    W = W + (np.arange(10)[:, None] < prefix).astype(dtype)
    previous_y = np.ones((20, 12), dtype)
    previous_x = np.ones((20, 10), dtype)

    y = staircase_forward(X, W, prefix, previous_y.copy(), beta=0.5, block=3)
    dx = staircase_grad_input(dY, W, prefix, previous_x.copy(), beta=0.5, block=3)

    tol = TOLERANCE[dtype]
    assert relative_error(y, X @ W + 0.5 * previous_y) <= tol
    assert relative_error(dx, dY @ W.T + 0.5 * previous_x) <= tol


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_zero_ignores_nan_in_out(dtype):
    X, W, dY, prefix, _ = make_layer(30, 20, 10, "zeros", dtype)
    y = staircase_forward(X, W, prefix, np.full((30, 10), np.nan, dtype))
    dx = staircase_grad_input(dY, W, prefix, np.full((30, 20), np.nan, dtype))
    assert np.all(y == 0)
    assert np.all(dx == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_batch(dtype):
    X, W, dY, prefix, _ = make_layer(0, 8, 6, "random", dtype)
    assert staircase_forward(X, W, prefix, np.empty((0, 6), dtype)).shape == (0, 6)
    assert staircase_grad_input(dY, W, prefix, np.empty((0, 8), dtype)).shape == (0, 8)
    grad = staircase_grad_weight(X, dY, prefix, np.full((8, 6), np.nan, dtype))
    assert np.all(grad == 0)


def test_results_do_not_depend_on_thread_count():
    X, W, dY, prefix, _ = make_layer(2000, 120, 150, "made", np.float64)

    def run():
        return (
            staircase_forward(X, W, prefix, np.empty((2000, 150))),
            staircase_grad_input(dY, W, prefix, np.empty((2000, 120))),
            staircase_grad_weight(X, dY, prefix, np.empty((120, 150))),
        )

    with threadpool_limits(limits=1, user_api="openmp"):
        serial = run()
    parallel = run()
    for got, want in zip(parallel, serial):
        assert relative_error(got, want) <= TOLERANCE[np.float64]


def test_blas_thread_limit_is_restored():
    from threadpoolctl import threadpool_info

    before = [
        lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"
    ]
    X, W, _, prefix, _ = make_layer(3000, 100, 100, "random", np.float32)
    staircase_forward(X, W, prefix, np.empty((3000, 100), np.float32))
    after = [
        lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"
    ]
    assert after == before


# ---------------------------------------------------------------------------
# choose_block


@pytest.mark.parametrize(
    "n_in, n_out, n_rows",
    [
        (784, 500, 10000),
        (500, 784, 10000),
        (784, 500, 1),
        (10, 1000, 100),
        (1, 1, 1),
        (5, 3, 0),
        (0, 10, 10),
        (2000, 4000, 256),
    ],
)
def test_choose_block_is_a_valid_block_size(n_in, n_out, n_rows):
    block = choose_block(n_in, n_out, n_rows)
    assert isinstance(block, int)
    assert 1 <= block <= max(n_out, 1)
    assert block % 8 == 0 or block == n_out


def test_choose_block_keeps_blocks_narrow_for_large_batches():
    # A wide layer with many rows: blocks stay a small fraction of the layer.
    assert choose_block(784, 500, 10000) <= 500 // 16
    assert choose_block(500, 784, 10000) <= 784 // 16


def test_choose_block_widens_blocks_when_rows_run_out():
    assert choose_block(784, 500, 1) > choose_block(784, 500, 10000)


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((784, 500, -1), ValueError, "n_rows must be non-negative"),
        ((784.0, 500, 10), TypeError, "n_in must be an int"),
    ],
)
def test_choose_block_rejects_bad_sizes(args, error, match):
    with pytest.raises(error, match=match):
        choose_block(*args)


# ---------------------------------------------------------------------------
# Argument checks


def _arrays(dtype=np.float32):
    X, W, dY, prefix, _ = make_layer(6, 5, 4, "random", dtype)
    return X, W, dY, prefix


def test_rejects_integer_arrays():
    X, W, _, prefix = _arrays()
    with pytest.raises(TypeError, match="float32 or float64 is required"):
        staircase_forward(X.astype(np.int64), W, prefix, np.empty((6, 4)))


def test_rejects_mixed_dtypes():
    X, W, _, prefix = _arrays()
    with pytest.raises(TypeError, match="all arrays must share one dtype"):
        staircase_forward(X, W.astype(np.float64), prefix, np.empty((6, 4), np.float32))


def test_rejects_lists():
    X, W, _, prefix = _arrays()
    with pytest.raises(TypeError, match="X must be a numpy.ndarray"):
        staircase_forward(X.tolist(), W, prefix, np.empty((6, 4), np.float32))


def test_rejects_non_contiguous_arrays():
    _, W, dY, prefix = _arrays()
    with pytest.raises(ValueError, match=r"dY must be C-contiguous; pass numpy\.asc"):
        staircase_grad_input(
            np.asfortranarray(dY), W, prefix, np.empty((6, 5), np.float32)
        )


def test_rejects_one_dimensional_arrays():
    X, W, _, prefix = _arrays()
    with pytest.raises(ValueError, match="X must be 2-D"):
        staircase_forward(X[0], W, prefix, np.empty((6, 4), np.float32))


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda X, W, dY, p: staircase_forward(X, W[:4], p, np.empty((6, 4), "f4")),
            r"staircase_forward: W has shape \(4, 4\)",
        ),
        (
            lambda X, W, dY, p: staircase_forward(X, W, p, np.empty((6, 5), "f4")),
            r"staircase_forward: out has shape \(6, 5\)",
        ),
        (
            lambda X, W, dY, p: staircase_grad_input(
                dY, W[:, :3].copy(), p[:3], np.empty((6, 5), "f4")
            ),
            r"staircase_grad_input: W has shape \(5, 3\)",
        ),
        (
            lambda X, W, dY, p: staircase_grad_weight(
                X[:5], dY, p, np.empty((5, 4), "f4")
            ),
            r"staircase_grad_weight: dY has shape \(6, 4\)",
        ),
        (
            lambda X, W, dY, p: staircase_grad_weight(X, dY, p, np.empty((4, 5), "f4")),
            r"staircase_grad_weight: out has shape \(4, 5\)",
        ),
    ],
)
def test_rejects_mismatched_shapes(call, match):
    with pytest.raises(ValueError, match=match):
        call(*_arrays())


def test_rejects_decreasing_prefix():
    X, W, _, _ = _arrays()
    match = r"non-decreasing.*prefix\[1\] = 3 > prefix\[2\] = 2"
    with pytest.raises(ValueError, match=match):
        staircase_forward(X, W, [1, 3, 2, 5], np.empty((6, 4), np.float32))


@pytest.mark.parametrize("prefix", [[0, 1, 2, 6], [-1, 0, 1, 2]])
def test_rejects_prefix_out_of_range(prefix):
    X, W, _, _ = _arrays()
    with pytest.raises(ValueError, match=r"must lie in \[0, n_in\] = \[0, 5\]"):
        staircase_forward(X, W, prefix, np.empty((6, 4), np.float32))


def test_rejects_prefix_of_wrong_length():
    X, W, _, _ = _arrays()
    with pytest.raises(ValueError, match=r"prefix has shape \(3,\), but \(4,\)"):
        staircase_forward(X, W, [1, 2, 3], np.empty((6, 4), np.float32))


def test_rejects_non_integer_prefix():
    X, W, _, prefix = _arrays()
    with pytest.raises(TypeError, match="prefix must hold integers"):
        staircase_forward(X, W, prefix.astype(float), np.empty((6, 4), np.float32))


def test_rejects_read_only_out():
    X, W, _, prefix = _arrays()
    out = np.empty((6, 4), np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        staircase_forward(X, W, prefix, out)


def test_rejects_out_overlapping_an_input():
    _, W, dY, prefix = _arrays()
    buffer = np.zeros(64, np.float32)
    dY_view = buffer[:24].reshape(6, 4)
    dY_view[...] = dY
    out = buffer[10:40].reshape(6, 5)
    with pytest.raises(ValueError, match="out overlaps dY"):
        staircase_grad_input(dY_view, W, prefix, out)


@pytest.mark.parametrize(
    "block, error, match",
    [
        (0, ValueError, "block must be at least 1"),
        (2.5, TypeError, "block must be an int or None"),
    ],
)
def test_rejects_bad_block(block, error, match):
    X, W, _, prefix = _arrays()
    with pytest.raises(error, match=match):
        staircase_forward(X, W, prefix, np.empty((6, 4), np.float32), block=block)


def test_rejects_non_numeric_beta():
    X, W, _, prefix = _arrays()
    with pytest.raises(TypeError, match="beta must be a real number"):
        staircase_forward(X, W, prefix, np.empty((6, 4), np.float32), beta="one")


def test_docstring_examples_run():
    result = doctest.testmod(staircase, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
