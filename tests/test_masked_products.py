"""Staircase and dense masked products compute the same network."""

import numpy as np
import pytest
from conftest import correlated_binary

from fastmade import MADEEstimator
from fastmade._training import objective

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

SHAPES = [
    dict(n_features=1, hidden_layer_sizes=(4,)),
    dict(n_features=2, hidden_layer_sizes=(1,)),
    dict(n_features=9, hidden_layer_sizes=(1, 3)),
    dict(n_features=30, hidden_layer_sizes=(10,)),
    dict(n_features=30, hidden_layer_sizes=(64, 64)),
    dict(n_features=70, hidden_layer_sizes=(100, 20, 90)),
]


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ensemble", [False, True])
@pytest.mark.parametrize("direct", [False, True])
def test_outputs_and_gradients_agree(shape, dtype, ensemble, direct):
    n_features = shape["n_features"]
    X = correlated_binary(80, n_features, seed=n_features)
    est = MADEEstimator(
        hidden_layer_sizes=shape["hidden_layer_sizes"],
        n_masks=3 if ensemble else 1,
        ordering="random" if ensemble else "natural",
        direct_connections=direct,
        dtype=dtype,
        max_iter=2,
        random_state=0,
    ).fit(X)
    network = est._network
    Xc = X[:, network.orderings[0]].astype(dtype)
    tolerance = 1e-5 if dtype == "float32" else 1e-12

    for member in range(network.n_masks):
        results = {}
        for kind in ["staircase", "dense"]:
            network.masked_product = kind
            loss, _, grads = objective(network, member, Xc, alpha=0.1)
            results[kind] = (network.member_output(member, Xc), loss, grads)
        staircase, dense = results["staircase"], results["dense"]

        assert relative_error(staircase[0], dense[0]) < tolerance
        assert abs(staircase[1] - dense[1]) <= tolerance * abs(dense[1])
        for got, expected in zip(staircase[2], dense[2]):
            assert got.shape == expected.shape
            assert relative_error(got, expected) < 10 * tolerance


@pytest.mark.parametrize("dtype, tolerance", [("float32", 1e-3), ("float64", 1e-9)])
def test_training_gives_the_same_loss_curve(dtype, tolerance):
    X = correlated_binary(300, 12, seed=1)
    curves = {}
    for kind in ["staircase", "dense"]:
        est = MADEEstimator(
            hidden_layer_sizes=(20, 20),
            masked_product=kind,
            dtype=dtype,
            max_iter=8,
            random_state=3,
        ).fit(X)
        curves[kind] = np.array(est.loss_curve_)

    np.testing.assert_allclose(curves["staircase"], curves["dense"], rtol=tolerance)


def test_scores_agree_between_products():
    X = correlated_binary(200, 16, seed=2)
    est = MADEEstimator(
        hidden_layer_sizes=(40,),
        n_masks=2,
        ordering="random",
        max_iter=5,
        random_state=0,
    ).fit(X)
    assert est._network.masked_product == "staircase"
    staircase = est.score_samples(X)
    est._network.masked_product = "dense"
    dense = est.score_samples(X)
    np.testing.assert_allclose(staircase, dense, rtol=1e-5)
