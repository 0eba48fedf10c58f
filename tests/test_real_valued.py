"""Gaussian and mixture conditionals give normalised densities of real data."""

import numpy as np
import pytest
from scipy import integrate

from fastmade import MADEEstimator
from fastmade._conditionals import Gaussian, GaussianMixture
from fastmade._made import MADENetwork
from fastmade._masks import draw_hidden_degrees, draw_orderings
from fastmade._network import init_params
from fastmade._training import objective

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def two_modes(n_samples, seed, share=0.3):
    """2-d data from two well separated blobs, ``share`` of it in the first."""
    rng = np.random.RandomState(seed)
    first = rng.rand(n_samples) < share
    centres = np.where(first[:, None], [-4.0, 3.0], [4.0, -2.0])
    return centres + rng.normal(scale=0.5, size=(n_samples, 2)), first


@pytest.mark.parametrize("distribution", ["gaussian", "mixture"])
def test_one_dimensional_density_integrates_to_one(distribution):
    X = np.random.RandomState(0).normal(2.0, 3.0, size=(300, 1))
    est = MADEEstimator(
        hidden_layer_sizes=(8,),
        distribution=distribution,
        n_components=2,
        dtype="float64",
        max_iter=20,
        random_state=0,
    ).fit(X)

    def density(x):
        return np.exp(est.score_samples(np.array([[x]])))[0]

    total, _ = integrate.quad(density, -40, 40, limit=200)
    assert abs(total - 1) < 1e-3


@pytest.mark.parametrize("distribution", ["gaussian", "mixture"])
def test_two_dimensional_density_integrates_to_one(distribution):
    X, _ = two_modes(400, seed=1)
    est = MADEEstimator(
        hidden_layer_sizes=(16,),
        distribution=distribution,
        n_components=3,
        dtype="float64",
        max_iter=20,
        random_state=0,
    ).fit(X)
    grid = np.linspace(-40, 40, 1601)
    xx, yy = np.meshgrid(grid, grid, indexing="ij")
    values = np.exp(est.score_samples(np.column_stack([xx.ravel(), yy.ravel()])))

    total = integrate.simpson(
        integrate.simpson(values.reshape(xx.shape), x=grid, axis=1), x=grid
    )
    assert abs(total - 1) < 1e-3


def test_correlated_gaussian_reaches_its_entropy():
    rng = np.random.RandomState(0)
    n_features = 8
    factor = rng.normal(size=(n_features, n_features))
    covariance = factor @ factor.T / n_features + 0.5 * np.eye(n_features)
    mean = rng.normal(scale=3, size=n_features)
    X = rng.multivariate_normal(mean, covariance, size=20000)
    X_test = rng.multivariate_normal(mean, covariance, size=5000)
    entropy = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * covariance)[1]

    est = MADEEstimator(
        hidden_layer_sizes=(32,),
        distribution="gaussian",
        batch_size=500,
        random_state=0,
    ).fit(X)

    assert (-est.score(X_test) - entropy) / n_features < 0.05


def test_mixture_beats_gaussian_and_samples_both_modes_in_their_shares():
    X, _ = two_modes(6000, seed=2)
    X_test, _ = two_modes(2000, seed=3)
    fitted = {
        distribution: MADEEstimator(
            hidden_layer_sizes=(32,),
            distribution=distribution,
            n_components=3,
            batch_size=200,
            max_iter=100,
            random_state=0,
        ).fit(X)
        for distribution in ["gaussian", "mixture"]
    }

    assert fitted["mixture"].score(X_test) > fitted["gaussian"].score(X_test) + 0.5
    samples = fitted["mixture"].sample(4000, random_state=0)
    in_first = np.linalg.norm(samples - [-4.0, 3.0], axis=1) < 2
    in_second = np.linalg.norm(samples - [4.0, -2.0], axis=1) < 2
    assert in_first.mean() == pytest.approx(0.3, abs=0.03)
    assert in_second.mean() == pytest.approx(0.7, abs=0.03)


def test_scores_are_in_the_units_of_the_data():
    X = np.random.RandomState(4).normal(size=(500, 3))
    params = dict(
        hidden_layer_sizes=(8,),
        distribution="gaussian",
        dtype="float64",
        max_iter=5,
        random_state=0,
    )
    small = MADEEstimator(**params).fit(X)
    large = MADEEstimator(**params).fit(10 * X)

    np.testing.assert_allclose(
        large.score_samples(10 * X),
        small.score_samples(X) - 3 * np.log(10),
        rtol=1e-6,
    )


def test_constant_columns_give_finite_scores():
    rng = np.random.RandomState(5)
    X = np.column_stack([rng.normal(size=200), np.full(200, 3.0)])
    est = MADEEstimator(hidden_layer_sizes=(8,), max_iter=10, random_state=0).fit(X)

    assert est.distribution_ == "gaussian"
    assert np.all(np.isfinite(est.score_samples(X)))
    assert np.all(np.isfinite(est.score_samples(X + 1e6)))
    assert np.all(np.isfinite(est.sample(10, random_state=0)))


@pytest.mark.parametrize("raw", [-1e30, -1e4, 0.0, 1e4, 1e30])
def test_extreme_outputs_give_finite_log_densities(raw):
    X = np.array([[0.3, -2.0]])
    out = np.full((1, 4), raw)
    assert np.all(np.isfinite(Gaussian().log_prob(X, out)))
    assert np.all(np.isfinite(Gaussian().grad(X, out)))
    out = np.full((1, 12), raw)
    assert np.all(np.isfinite(GaussianMixture(2).log_prob(X, out)))
    assert np.all(np.isfinite(GaussianMixture(2).grad(X, out)))


@pytest.mark.parametrize(
    "conditional", [Gaussian(), GaussianMixture(3)], ids=["gaussian", "mixture"]
)
def test_gradients_match_finite_differences(conditional):
    rng = np.random.RandomState(6)
    n_features = 4
    orderings = draw_orderings("random", n_features, 2, rng)
    hidden = [draw_hidden_degrees((5,), n_features, "random", rng) for _ in range(2)]
    weights, biases = init_params(
        (5,), n_features, conditional.n_params, True, np.float64, rng
    )
    for b in biases:
        b[...] = rng.normal(size=b.shape)
    network = MADENetwork(weights, biases, orderings, hidden, "tanh", conditional)
    X = rng.normal(size=(7, n_features))
    eps = 1e-6

    for member in range(2):
        _, _, grads = objective(network, member, X, 0.2)
        for param, grad in zip(network.weights + network.biases, grads):
            numeric = np.zeros_like(param)
            for index in np.ndindex(param.shape):
                saved = param[index]
                param[index] = saved + eps
                up, _, _ = objective(network, member, X, 0.2)
                param[index] = saved - eps
                down, _, _ = objective(network, member, X, 0.2)
                param[index] = saved
                numeric[index] = (up - down) / (2 * eps)
            np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_rows_far_beyond_the_float32_range_score_finite():
    X = np.random.RandomState(0).randn(300, 3)
    est = MADEEstimator(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X)
    far = X[:2].copy()
    far[:, 0] = 1e40
    far[1, 2] = -1e300

    scores = est.score_samples(far)

    assert np.all(np.isfinite(scores)) and np.all(scores < est.score_samples(X).min())


def test_huge_training_values_do_not_overflow_the_standardisation():
    X = np.random.RandomState(0).randn(200, 2)
    X[:, 1] *= 1e300
    est = MADEEstimator(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X)

    assert np.all(np.isfinite(est._network.scale))
    assert np.all(np.isfinite(est.score_samples(X)))
    assert np.all(np.isfinite(est.sample(5, random_state=0, method="naive")))


def test_the_most_components_the_sampler_holds_fit_and_sample():
    X = np.random.RandomState(0).normal(size=(200, 3))
    params = dict(hidden_layer_sizes=(8,), distribution="mixture", max_iter=2)
    est = MADEEstimator(n_components=16, random_state=0, **params).fit(X)
    cached = est.sample(50, random_state=1)
    naive = est.sample(50, random_state=1, method="naive")
    np.testing.assert_allclose(cached, naive, rtol=1e-4, atol=1e-4)

    with pytest.raises(ValueError, match=r"n_components.*range \[1, 16\]"):
        MADEEstimator(n_components=17, **params).fit(X)
