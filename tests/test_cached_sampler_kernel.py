"""Tests of the compiled cached-sampling kernel, against a plain NumPy MADE.

The reference builds dense masks from the degrees, runs full masked forward
passes in float64, and samples naively (one full pass a dimension) with the same
uniforms u, drawing 1 where u < sigmoid(logit); the kernel gets logit(u) and
draws 1 where the logit exceeds it, the same rule. Everything is in the kernel's
sorted coordinates: input j has degree j + 1 and hidden degrees are sorted.
"""

import zlib

import numpy as np
import pytest

kernel = pytest.importorskip("fastmade._cached_sampler")
sample_member = kernel.sample_member

ACTIVATION_FUNCTIONS = {
    kernel.ACTIVATIONS["relu"]: lambda a: np.maximum(a, 0.0),
    kernel.ACTIVATIONS["tanh"]: np.tanh,
    kernel.ACTIVATIONS["sigmoid"]: lambda a: 1.0 / (1.0 + np.exp(-a)),
}
BERNOULLI = kernel.CONDITIONALS["bernoulli"]
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


# --- reference ----------------------------------------------------------------


class Member:
    """One mask member in sorted coordinates, with junk behind its masks."""

    def __init__(
        self,
        rng,
        n_dims,
        widths,
        direct=False,
        activation=1,
        dtype=np.float64,
        degrees=None,
        junk=None,
    ):
        self.n_dims, self.activation, self.dtype = n_dims, activation, dtype
        if degrees is None:
            degrees = [np.sort(rng.integers(1, n_dims + 1, n)) for n in widths]
        self.degrees = degrees
        sizes = [n_dims, *widths]
        self.weights = [
            rng.standard_normal((a, b)) * 1.5 / np.sqrt(a)
            for a, b in zip(sizes[:-1], sizes[1:])
        ]
        self.biases = [0.3 * rng.standard_normal(n) for n in widths]
        self.out_weight = rng.standard_normal((widths[-1], n_dims)) / np.sqrt(
            widths[-1]
        )
        self.out_bias = 0.3 * rng.standard_normal(n_dims)
        self.direct_weight = (
            rng.standard_normal((n_dims, n_dims)) / np.sqrt(n_dims) if direct else None
        )
        self.hidden_masks, self.out_mask, self.direct_mask = dense_masks(
            n_dims, self.degrees
        )
        self.weights = [w.astype(dtype) for w in self.weights]
        self.biases = [b.astype(dtype) for b in self.biases]
        self.out_weight = self.out_weight.astype(dtype)
        self.out_bias = self.out_bias.astype(dtype)
        if direct:
            self.direct_weight = self.direct_weight.astype(dtype)

        # Junk behind the masks: the kernel must never read it.
        junk_rng = np.random.default_rng(rng.integers(1 << 32))
        for array, mask in self._masked():
            array[~mask] = (
                junk
                if junk is not None
                else 1e3 * junk_rng.standard_normal(int((~mask).sum()))
            )

    def _masked(self):
        pairs = list(zip(self.weights, self.hidden_masks))
        pairs.append((self.out_weight, self.out_mask))
        if self.direct_weight is not None:
            pairs.append((self.direct_weight, self.direct_mask))
        return pairs

    def clean(self):
        """The weights as float64, masked-out entries zeroed (dense masks)."""
        if self.direct_weight is None:
            direct = None
        else:
            direct = np.where(self.direct_mask, self.direct_weight, 0.0)
        return (
            [np.where(m, w, 0.0) for w, m in zip(self.weights, self.hidden_masks)],
            [b.astype(np.float64) for b in self.biases],
            np.where(self.out_mask, self.out_weight, 0.0),
            self.out_bias.astype(np.float64),
            direct,
        )

    def forward(self, x, clean=None, with_scale=True):
        """Output parameters of a full masked pass, and an error scale for them.

        The scale bounds each output's sum of absolute terms, including the
        absolute error of the hidden units fed through, so `rtol * scale` is a
        tolerance that survives cancellation.
        """
        weights, biases, out_weight, out_bias, direct = clean or self.clean()
        act = ACTIVATION_FUNCTIONS[self.activation]
        x = np.asarray(x, dtype=np.float64)
        h, carried = x, np.zeros_like(x)
        for w, b in zip(weights, biases):
            if with_scale:
                carried = (np.abs(h) + carried) @ np.abs(w) + np.abs(b)
            h = act(h @ w + b)
        params = h @ out_weight + out_bias
        if direct is not None:
            params = params + x @ direct
        if not with_scale:
            return params, None
        scale = (np.abs(h) + carried) @ np.abs(out_weight) + np.abs(out_bias)
        if direct is not None:
            scale = scale + np.abs(x) @ np.abs(direct)
        return params, scale

    def naive_sample(self, noise):
        """D full forward passes, filling one dimension each."""
        x = np.zeros(noise.shape[:2])
        clean = self.clean()
        for d in range(self.n_dims):
            logits = self.forward(x, clean, with_scale=False)[0][:, d]
            x[:, d] = noise[:, d, 0] < 1.0 / (1.0 + np.exp(-logits))
        return x

    def sample(self, noise, params=True, **kwargs):
        """The kernel's draws with uniforms ``noise``, which it reads as logits."""
        n_rows = noise.shape[0]
        out = np.empty((n_rows, self.n_dims), self.dtype)
        params_out = np.empty((n_rows, self.n_dims), self.dtype) if params else None
        returned = sample_member(
            self.weights,
            self.biases,
            self.degrees,
            self.out_weight,
            self.out_bias,
            self.direct_weight,
            self.activation,
            BERNOULLI,
            logit(noise),
            out,
            params_out,
            **kwargs,
        )
        assert returned is out
        return out, params_out


def dense_masks(n_dims, degrees):
    previous = np.arange(1, n_dims + 1)
    hidden = []
    for degree in degrees:
        hidden.append(previous[:, None] <= np.asarray(degree)[None, :])
        previous = np.asarray(degree)
    out = previous[:, None] < np.arange(1, n_dims + 1)[None, :]
    direct = np.arange(n_dims)[:, None] < np.arange(n_dims)[None, :]
    return hidden, out, direct


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def logit(u):
    """The kernel's Bernoulli noise: x = 1 where the logit exceeds logit(u)."""
    with np.errstate(divide="ignore"):
        return np.log(u) - np.log1p(-u)


def assert_draws_follow_their_conditionals(member, noise, x, params_out):
    """Each draw is u < p with p from a full pass of the drawn sample itself.

    By the autoregressive property this is naive sampling along the kernel's own
    path, so it holds exactly, except where u lies within rounding of p.
    """
    rtol = TOLERANCE[member.dtype]
    params, scale = member.forward(x)
    np.testing.assert_array_less(np.abs(params_out - params), rtol * scale + 1e-300)
    p = sigmoid(params)
    expected = noise[:, :, 0] < p
    tie = np.abs(noise[:, :, 0] - p) <= rtol * (1.0 + scale)
    assert np.all((x == expected) | tie)
    assert set(np.unique(x)) <= {0.0, 1.0}


def agree_except_ties(member, noise, first, second):
    """Compare two sampling runs row by row up to their first differing draw.

    Return the fraction of rows that differ. Up to the first difference the
    parameters must agree to 1e-6 of their scale (they depend on the common
    prefix only), and the differing draw must be a tie for both runs.
    """
    (x1, p1), (x2, p2) = first, second
    rtol = 1e-6 if member.dtype == np.float32 else 1e-12
    _, scale = member.forward(x1)
    differing = 0
    for row in range(x1.shape[0]):
        diff = np.flatnonzero(x1[row] != x2[row])
        stop = diff[0] if diff.size else member.n_dims
        np.testing.assert_array_less(
            np.abs(p1[row, : stop + 1] - p2[row, : stop + 1]),
            rtol * scale[row, : stop + 1] + 1e-300,
        )
        if diff.size:
            differing += 1
            p = sigmoid(np.array([p1[row, stop], p2[row, stop]], dtype=np.float64))
            assert np.all(np.abs(noise[row, stop, 0] - p) < 1e-5)
    return differing / x1.shape[0]


# --- agreement with the reference ----------------------------------------------

CASES = [
    # n_dims, widths, direct, activation, dtype
    (1, [3], False, 1, np.float64),
    (1, [1], True, 0, np.float32),
    (2, [1], True, 0, np.float64),
    (2, [5, 1], False, 2, np.float32),
    (3, [2], True, 1, np.float32),
    (3, [7, 7, 7], True, 2, np.float64),
    (17, [1], False, 1, np.float64),
    (17, [40, 9, 30], True, 0, np.float32),
    (17, [12, 12], False, 2, np.float64),
    (64, [100], False, 1, np.float32),
    (64, [20, 150], True, 0, np.float64),
    (64, [1, 64, 3], False, 1, np.float64),
    (64, [300], True, 2, np.float32),
    (300, [120], False, 0, np.float32),
    (300, [500, 200], True, 1, np.float64),
    (300, [400], True, 1, np.float32),
]


def case_seed(case):
    return zlib.crc32(case_id(case).encode())


def case_id(case):
    n_dims, widths, direct, activation, dtype = case
    return (
        f"D{n_dims}-{'x'.join(map(str, widths))}-{'direct-' if direct else ''}"
        f"act{activation}-{np.dtype(dtype).name}"
    )


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_draws_follow_the_conditionals_of_their_own_prefix(case):
    n_dims, widths, direct, activation, dtype = case
    rng = np.random.default_rng(case_seed(case))
    member = Member(rng, n_dims, widths, direct, activation, dtype)
    noise = rng.random((300, n_dims, 1))

    x, params_out = member.sample(noise)

    assert x.dtype == dtype and params_out.dtype == dtype
    assert_draws_follow_their_conditionals(member, noise, x, params_out)


NAIVE_CASES = [
    (1, [3], False, 1, np.float64),
    (2, [1], True, 0, np.float32),
    (3, [7, 7, 7], True, 2, np.float64),
    (17, [40, 9, 30], True, 0, np.float32),
    (64, [100], False, 1, np.float32),
    (64, [1, 64, 3], False, 1, np.float64),
    (300, [100], True, 1, np.float32),
]


@pytest.mark.parametrize("case", NAIVE_CASES, ids=case_id)
def test_samples_agree_with_naive_sampling(case):
    # Enough rows that one row diverging after a tie stays below 0.1 %.
    n_dims, widths, direct, activation, dtype = case
    rng = np.random.default_rng(case_seed(case) + 7)
    member = Member(rng, n_dims, widths, direct, activation, dtype)
    noise = rng.random((1000 if n_dims < 300 else 500, n_dims, 1))

    x, _ = member.sample(noise)

    assert np.mean(x == member.naive_sample(noise)) >= 0.999


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_sizes_agree(dtype):
    rng = np.random.default_rng(3)
    member = Member(rng, 40, [60, 30], True, 1, dtype)
    noise = rng.random((100, 40, 1))
    blocks = (1, 2, 7, 13, 40, (40, 1), (13, 4), (20, 20), (39, 38))
    runs = [member.sample(noise, block_dims=b) for b in blocks]
    for run in runs:
        assert_draws_follow_their_conditionals(member, noise, *run)
        assert agree_except_ties(member, noise, runs[0], run) <= 0.02


def test_units_of_degree_d_and_empty_degrees():
    rng = np.random.default_rng(4)
    n_dims = 12
    degrees = [
        np.array([3, 3, 3, 9, 12, 12]),  # most degrees have no unit
        np.array([12, 12]),  # feeds no output at all
    ]
    member = Member(rng, n_dims, [6, 2], True, 1, np.float64, degrees=degrees)
    noise = rng.random((50, n_dims, 1))
    x, params_out = member.sample(noise)
    assert_draws_follow_their_conditionals(member, noise, x, params_out)


@pytest.mark.parametrize("junk", [np.nan, np.inf])
def test_masked_out_weights_are_never_read(junk):
    rng = np.random.default_rng(5)
    member = Member(rng, 30, [45, 20], True, 0, np.float64, junk=junk)
    noise = rng.random((600, 30, 1))
    for n_jobs, tile_rows in ((1, 256), (2, 7), (1, 1)):
        x, params_out = member.sample(noise, n_jobs=n_jobs, tile_rows=tile_rows)
        assert np.all(np.isfinite(params_out))
        assert_draws_follow_their_conditionals(member, noise, x, params_out)


@pytest.mark.parametrize("degree_dtype", [np.int8, np.uint16, np.int32, np.int64])
def test_degrees_of_any_integer_dtype(degree_dtype):
    rng = np.random.default_rng(6)
    member = Member(rng, 20, [25], False, 1, np.float64)
    noise = rng.random((30, 20, 1))
    expected = member.sample(noise)
    member.degrees = [d.astype(degree_dtype) for d in member.degrees]
    x, params_out = member.sample(noise)
    np.testing.assert_array_equal(x, expected[0])
    np.testing.assert_array_equal(params_out, expected[1])


# --- independence from threads and tiles ------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_samples_do_not_depend_on_n_jobs(dtype):
    rng = np.random.default_rng(8)
    member = Member(rng, 50, [80, 60], True, 1, dtype)
    noise = rng.random((1000, 50, 1))
    for tile_rows in (7, 256):
        x1, p1 = member.sample(noise, n_jobs=1, tile_rows=tile_rows)
        x2, p2 = member.sample(noise, n_jobs=2, tile_rows=tile_rows)
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(p1, p2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_samples_do_not_depend_on_tile_rows_except_at_ties(dtype):
    # BLAS may round a row differently depending on how many rows share the
    # GEMM, so only draws within rounding of their threshold may differ.
    rng = np.random.default_rng(9)
    member = Member(rng, 64, [200], True, 1, dtype)
    noise = rng.random((1000, 64, 1))
    runs = [
        member.sample(noise, tile_rows=t, n_jobs=j)
        for t, j in ((256, 1), (7, 1), (7, 2), (1, 1), (1000, 2))
    ]
    for run in runs[1:]:
        assert agree_except_ties(member, noise, runs[0], run) <= 0.01


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_without_blas_tiles_are_bit_identical(dtype):
    # With one block no GEMM runs: the kernel's own loops sum every row in the
    # same order, in full chunks, partial chunks and one-row tiles alike
    # (assert_array_equal takes -0.0 == 0.0: one-row tiles skip zero sources).
    rng = np.random.default_rng(10)
    member = Member(rng, 33, [50, 20], True, 2, dtype)
    noise = rng.random((300, 33, 1))
    x0, p0 = member.sample(noise, tile_rows=256, block_dims=33)
    for tile_rows, n_jobs in ((7, 1), (1, 2), (300, 1), (65, 2)):
        x, p = member.sample(noise, tile_rows=tile_rows, n_jobs=n_jobs, block_dims=33)
        np.testing.assert_array_equal(x, x0)
        np.testing.assert_array_equal(p, p0)


# --- sizes ------------------------------------------------------------------------


def test_zero_rows_do_nothing():
    rng = np.random.default_rng(11)
    member = Member(rng, 5, [4], False, 1, np.float32)
    x, params_out = member.sample(np.empty((0, 5, 1)), n_jobs=2)
    assert x.shape == (0, 5) and params_out.shape == (0, 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_row(dtype):
    rng = np.random.default_rng(12)
    member = Member(rng, 100, [150, 50], True, 1, dtype)
    noise = rng.random((1, 100, 1))
    x, params_out = member.sample(noise, n_jobs=2)
    assert_draws_follow_their_conditionals(member, noise, x, params_out)
    np.testing.assert_array_equal(x, member.naive_sample(noise))


def test_params_out_is_optional():
    rng = np.random.default_rng(13)
    member = Member(rng, 10, [12], False, 1, np.float64)
    noise = rng.random((20, 10, 1))
    x_with, _ = member.sample(noise)
    x_without, params_out = member.sample(noise, params=False)
    assert params_out is None
    np.testing.assert_array_equal(x_with, x_without)


# --- module constants --------------------------------------------------------------


def test_module_constants():
    assert kernel.ACTIVATIONS == {"relu": 0, "tanh": 1, "sigmoid": 2}
    assert kernel.CONDITIONAL_SHAPES[BERNOULLI] == (1, 1)
    assert isinstance(kernel.openmp_enabled(), bool)
    block, sub_block = kernel.default_block_dims(784, [500])
    assert 1 <= sub_block <= block <= 784
    assert kernel.default_block_dims(1, [10]) == (1, 1)


# --- argument checks ---------------------------------------------------------------


@pytest.fixture
def args():
    rng = np.random.default_rng(14)
    member = Member(rng, 6, [5, 4], True, 1, np.float32)
    noise = rng.random((3, 6, 1))
    return dict(
        weights=list(member.weights),
        biases=list(member.biases),
        degrees=list(member.degrees),
        out_weight=member.out_weight,
        out_bias=member.out_bias,
        direct_weight=member.direct_weight,
        activation=1,
        conditional=BERNOULLI,
        noise=noise,
        out=np.empty((3, 6), np.float32),
        params_out=np.empty((3, 6), np.float32),
    )


def _replace(args, key, value, index=None):
    if index is None:
        args[key] = value
    else:
        args[key][index] = value
    return args


@pytest.mark.parametrize(
    "change, error, message",
    [
        (
            lambda a: _replace(a, "weights", a["weights"][0].astype(np.float64), 0),
            TypeError,
            r"weights\[0\] has dtype float64, expected float32",
        ),
        (
            lambda a: _replace(a, "out", a["out"].astype(np.float64)),
            TypeError,
            "out has dtype float64",
        ),
        (
            lambda a: _replace(a, "out_weight", a["out_weight"].astype(np.int32)),
            TypeError,
            "float32 or float64",
        ),
        (
            lambda a: _replace(a, "noise", a["noise"].astype(np.float32)),
            TypeError,
            "noise has dtype float32, expected float64",
        ),
        (
            lambda a: _replace(a, "weights", a["weights"][1][:3], 1),
            ValueError,
            r"weights\[1\] has shape \(3, 4\), expected \(5, 4\)",
        ),
        (
            lambda a: _replace(a, "biases", a["biases"][0][:2], 0),
            ValueError,
            r"biases\[0\] has shape \(2,\), expected \(5,\)",
        ),
        (
            lambda a: _replace(a, "out_weight", a["out_weight"][:, :5]),
            ValueError,
            r"out_weight has shape \(4, 5\), expected \(4, 6\)",
        ),
        (
            lambda a: _replace(a, "direct_weight", a["direct_weight"][:5]),
            ValueError,
            "direct_weight has shape",
        ),
        (
            lambda a: _replace(a, "noise", np.zeros((3, 6, 2))),
            ValueError,
            r"noise has shape \(3, 6, 2\), expected \(3, 6, 1\)",
        ),
        (
            lambda a: _replace(a, "params_out", np.empty((3, 5), np.float32)),
            ValueError,
            "params_out has shape",
        ),
        (
            lambda a: _replace(a, "out", np.empty((6, 3), np.float32).T),
            ValueError,
            "out must be C-contiguous",
        ),
        (
            lambda a: _replace(a, "weights", np.asfortranarray(a["weights"][0]), 0),
            ValueError,
            r"weights\[0\] must be C-contiguous",
        ),
        (
            lambda a: _replace(a, "weights", [a["weights"][0].tolist()] * 2),
            ValueError,
            r"weights\[0\] must be a 2-D array",
        ),
        (
            lambda a: _replace(a, "degrees", np.array([5, 4, 3, 2, 1]), 0),
            ValueError,
            r"degrees\[0\] must be sorted",
        ),
        (
            lambda a: _replace(a, "degrees", np.array([0, 1, 2, 3, 4]), 0),
            ValueError,
            r"degrees\[0\] must lie in \[1, D\] = \[1, 6\]",
        ),
        (
            lambda a: _replace(a, "degrees", np.array([1, 2, 3, 4, 7]), 0),
            ValueError,
            r"degrees\[0\] must lie in \[1, D\]",
        ),
        (
            lambda a: _replace(a, "degrees", np.array([1, 2, 3], np.uint64), 1),
            ValueError,
            r"degrees\[1\] has shape \(3,\), expected \(4,\)",
        ),
        (
            lambda a: _replace(a, "degrees", np.array([2**63 + 1] * 4, np.uint64), 1),
            ValueError,
            r"degrees\[1\] must lie in \[1, D\]",
        ),
        (
            lambda a: _replace(a, "degrees", np.ones(5), 0),
            TypeError,
            r"degrees\[0\] must hold integers",
        ),
        (
            lambda a: _replace(a, "biases", a["biases"][:1]),
            ValueError,
            "biases must be a list of 2 arrays",
        ),
        (
            lambda a: _replace(a, "weights", []),
            ValueError,
            "weights must be a non-empty list",
        ),
        (
            lambda a: _replace(a, "activation", 3),
            ValueError,
            "unknown activation code 3",
        ),
        (
            lambda a: _replace(a, "conditional", 9),
            ValueError,
            "unknown conditional code 9",
        ),
        (lambda a: _replace(a, "n_jobs", 0), ValueError, "n_jobs must be >= 1, got 0"),
        (
            lambda a: _replace(a, "tile_rows", 0),
            ValueError,
            "tile_rows must be >= 1, got 0",
        ),
        (
            lambda a: _replace(a, "block_dims", 7),
            ValueError,
            r"block_dims must be an int in \[1, D\] = \[1, 6\]",
        ),
        (
            lambda a: _replace(a, "block_dims", (3, 4)),
            ValueError,
            r"1 <= sub-block <= block <= D, got \(3, 4\)",
        ),
        (
            lambda a: _replace(a, "out", np.empty((3, 0), np.float32)),
            ValueError,
            "at least one column",
        ),
    ],
)
def test_bad_arguments_raise_with_a_message(args, change, error, message):
    with pytest.raises(error, match=message):
        sample_member(**change(args))


def test_read_only_out_is_rejected(args):
    args["out"].setflags(write=False)
    with pytest.raises(ValueError, match="out must be writeable"):
        sample_member(**args)
