"""The model is a normalised, autoregressive density with exact gradients."""

import numpy as np
import pytest
from conftest import all_binary_vectors, correlated_binary

from fastmade import MADEEstimator
from fastmade._conditionals import Bernoulli
from fastmade._made import MADENetwork
from fastmade._masks import draw_hidden_degrees, draw_orderings
from fastmade._network import init_params
from fastmade._training import objective

ARCHITECTURES = [
    dict(hidden_layer_sizes=(12,)),
    dict(hidden_layer_sizes=(12, 9)),
    dict(hidden_layer_sizes=(12, 9, 11)),
    dict(hidden_layer_sizes=(3, 2)),  # narrower than D
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("ordering", ["natural", "random"])
@pytest.mark.parametrize("hidden_degrees", ["random", "equal"])
@pytest.mark.parametrize("direct_connections", [False, True])
@pytest.mark.parametrize("n_masks", [1, 4])
def test_probabilities_sum_to_one(
    architecture, ordering, hidden_degrees, direct_connections, n_masks
):
    X = correlated_binary(60, 7, seed=1)
    est = MADEEstimator(
        **architecture,
        ordering=ordering,
        hidden_degrees=hidden_degrees,
        direct_connections=direct_connections,
        n_masks=n_masks,
        dtype="float64",
        max_iter=3,
        random_state=0,
    ).fit(X)

    total = np.exp(est.score_samples(all_binary_vectors(7))).sum()

    assert abs(total - 1) < 1e-4


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_features", [1, 2, 10])
def test_probabilities_sum_to_one_at_the_extremes_of_d(n_features):
    X = correlated_binary(40, n_features, seed=2)
    est = MADEEstimator(
        hidden_layer_sizes=(16,), dtype="float64", max_iter=3, random_state=0
    ).fit(X)

    total = np.exp(est.score_samples(all_binary_vectors(n_features))).sum()

    assert abs(total - 1) < 1e-4


def random_network(n_features, layer_sizes, n_masks, direct, activation, seed):
    """An untrained network with random weights and biases, float64."""
    rng = np.random.RandomState(seed)
    orderings = draw_orderings("random", n_features, n_masks, rng)
    hidden = [
        draw_hidden_degrees(layer_sizes, n_features, "random", rng)
        for _ in range(n_masks)
    ]
    weights, biases = init_params(layer_sizes, n_features, 1, direct, np.float64, rng)
    for b in biases:
        b[...] = rng.normal(size=b.shape)
    return MADENetwork(weights, biases, orderings, hidden, activation, Bernoulli())


@pytest.mark.parametrize("layer_sizes", [(9,), (9, 3), (5, 12, 7)])
@pytest.mark.parametrize("direct", [False, True])
def test_conditionals_ignore_later_inputs_for_every_member(layer_sizes, direct):
    n_features = 8
    network = random_network(n_features, layer_sizes, 3, direct, "tanh", seed=3)
    rng = np.random.RandomState(4)
    X = (rng.rand(20, n_features) < 0.5).astype(float)

    for member in range(network.n_masks):
        degrees = network.input_degrees[member]
        base = network.member_output(member, X)
        for j in range(n_features):
            changed = X.copy()
            changed[:, j] = 1 - changed[:, j]
            diff = np.abs(network.member_output(member, changed) - base).max(axis=0)
            may_change = degrees > degrees[j]
            assert np.all(diff[~may_change] == 0)
            # Without the masks nothing would stop a change; check one does flow.
            if direct:
                assert np.all(diff[may_change] > 0)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("direct", [False, True])
def test_gradients_match_finite_differences(activation, direct):
    network = random_network(5, (6, 4), 2, direct, activation, seed=5)
    rng = np.random.RandomState(6)
    X = (rng.rand(11, 5) < 0.5).astype(float)
    alpha = 0.3
    eps = 1e-6

    for member in range(network.n_masks):
        _, _, grads = objective(network, member, X, alpha)
        params = network.weights + network.biases
        for param, grad in zip(params, grads):
            numeric = np.zeros_like(param)
            for index in np.ndindex(param.shape):
                saved = param[index]
                param[index] = saved + eps
                up, _, _ = objective(network, member, X, alpha)
                param[index] = saved - eps
                down, _, _ = objective(network, member, X, alpha)
                param[index] = saved
                numeric[index] = (up - down) / (2 * eps)
            np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_ensemble_density_is_the_mean_of_member_densities():
    network = random_network(6, (10,), 3, True, "relu", seed=7)
    X = all_binary_vectors(6)

    members = [
        Bernoulli().log_prob(X, network.member_output(k, X)).sum(axis=1)
        for k in range(3)
    ]
    expected = np.log(np.mean(np.exp(members), axis=0))

    np.testing.assert_allclose(network.log_likelihood(X), expected, rtol=1e-12)
    assert abs(np.exp(network.log_likelihood(X)).sum() - 1) < 1e-10
