"""Cached sampling returns what naive sampling returns, for every architecture."""

import numpy as np
import pytest
import sklearn

from fastmade import MADEEstimator
from fastmade._cached_sampling import sample_member_cached
from fastmade._chunks import chunk_rows
from fastmade._sampling import sample_row_bytes

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def random_model(seed):
    """A briefly fitted model with an architecture drawn at random."""
    rng = np.random.RandomState(seed)
    n_features = int(rng.choice([1, 2, 3, 7, 20, 64, 150, 300]))
    n_layers = int(rng.randint(1, 4))
    widths = tuple(
        int(rng.choice([1, max(1, n_features // 3), n_features + 5, 40]))
        for _ in range(n_layers)
    )
    params = dict(
        hidden_layer_sizes=widths,
        activation=str(rng.choice(["relu", "tanh", "sigmoid"])),
        ordering=str(rng.choice(["natural", "random"])),
        hidden_degrees=str(rng.choice(["random", "equal"])),
        n_masks=int(rng.choice([1, 1, 3])),
        direct_connections=bool(rng.rand() < 0.5),
        dtype=str(rng.choice(["float32", "float64"])),
        max_iter=2,
        random_state=seed,
    )
    X = (rng.rand(60, n_features) < rng.uniform(0.2, 0.8, n_features)).astype(float)
    return MADEEstimator(**params).fit(X)


def real_valued_model(seed, distribution):
    """A briefly fitted Gaussian or mixture model of random shape."""
    rng = np.random.RandomState(seed)
    n_features = int(rng.choice([1, 2, 5, 30, 120]))
    X = rng.normal(size=(80, n_features)) @ rng.normal(size=(n_features, n_features))
    return MADEEstimator(
        hidden_layer_sizes=(int(rng.choice([1, 10, 150])),) * int(rng.randint(1, 3)),
        distribution=distribution,
        n_components=int(rng.choice([1, 2, 5])),
        n_masks=int(rng.choice([1, 2])),
        ordering=str(rng.choice(["natural", "random"])),
        dtype=str(rng.choice(["float32", "float64"])),
        max_iter=2,
        random_state=seed,
    ).fit(X)


@pytest.mark.parametrize("distribution", ["gaussian", "mixture"])
@pytest.mark.parametrize("seed", range(8))
def test_cached_and_naive_samples_agree_for_real_values(distribution, seed):
    est = real_valued_model(seed, distribution)
    tolerance = 1e-4 if est._network.dtype == np.float32 else 1e-9

    cached = est.sample(300, random_state=seed, method="cached")
    naive = est.sample(300, random_state=seed, method="naive")

    close = np.isclose(cached, naive, rtol=tolerance, atol=tolerance)
    assert np.all(np.isfinite(cached))
    assert close.mean() >= 0.999


@pytest.mark.parametrize("seed", range(60))
def test_cached_and_naive_samples_agree(seed):
    est = random_model(seed)

    cached = est.sample(300, random_state=seed, method="cached")
    naive = est.sample(300, random_state=seed, method="naive")

    assert cached.shape == naive.shape == (300, est.n_features_in_)
    assert np.mean(cached == naive) >= 0.999


@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_kernel_conditionals_match_the_numpy_forward_pass(seed):
    est = random_model(seed)
    network = est._network
    tolerance = 1e-5 if network.dtype == np.float32 else 1e-10

    for member in range(network.n_masks):
        noise = np.random.RandomState(seed).random_sample((50, network.n_features, 1))
        params = np.empty((50, network.n_features), dtype=network.dtype)
        Xc = sample_member_cached(network, member, noise, params_out=params)
        order = network.generation_order(member)
        expected = network.member_output(member, Xc)[:, order]

        scale = max(1.0, np.abs(expected).max())
        np.testing.assert_allclose(params, expected, rtol=0, atol=tolerance * scale)


def test_samples_do_not_depend_on_the_thread_count():
    est = random_model(5).set_params(n_jobs=1)
    one = est.sample(2000, random_state=0)
    two = est.set_params(n_jobs=2).sample(2000, random_state=0)
    np.testing.assert_array_equal(one, two)


def test_samples_do_not_depend_on_the_chunk_size():
    est = random_model(7)
    network = est._network
    with sklearn.config_context(working_memory=0.01):
        step = chunk_rows(sample_row_bytes(network))
        across = est.sample(step + 1, random_state=3)
    whole = est.sample(step + 1, random_state=3)
    # The budget is small enough that the first call really ran in two chunks.
    assert step < 1000
    np.testing.assert_array_equal(across, whole)


def test_cached_is_the_default_method():
    est = random_model(3)
    np.testing.assert_array_equal(
        est.sample(100, random_state=2),
        est.sample(100, random_state=2, method="cached"),
    )


@pytest.mark.parametrize("n_samples", [0, 1])
def test_tiny_sample_counts(n_samples):
    est = random_model(11)
    samples = est.sample(n_samples, random_state=0)
    assert samples.shape == (n_samples, est.n_features_in_)
    assert set(np.unique(samples)) <= {0.0, 1.0}


def test_negative_thread_count_means_all_processors():
    est = random_model(2).set_params(n_jobs=-1)
    np.testing.assert_array_equal(
        est.sample(50, random_state=1),
        est.set_params(n_jobs=1).sample(50, random_state=1),
    )
