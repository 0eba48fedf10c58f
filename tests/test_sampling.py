"""Samples follow the model's own distribution and are reproducible."""

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sklearn
from conftest import all_binary_vectors, correlated_binary
from scipy.stats import chisquare

from fastmade import MADEEstimator
from fastmade._naive_sampler import sample_member_naive
from fastmade._random import seeded_rng

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def fit_small(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0)
    X = correlated_binary(300, 4, seed=0)
    return MADEEstimator(**{**defaults, **params}).fit(X)


@pytest.mark.parametrize("params", [{}, {"n_masks": 3, "ordering": "random"}])
def test_sample_frequencies_match_model_probabilities(params):
    est = fit_small(**params)
    cells = all_binary_vectors(4)
    probabilities = np.exp(est.score_samples(cells))

    samples = est.sample(40000, random_state=1, method="naive")
    codes = samples @ (2 ** np.arange(3, -1, -1))
    observed = np.bincount(codes.astype(int), minlength=16)

    result = chisquare(observed, probabilities / probabilities.sum() * len(samples))
    assert result.pvalue > 1e-3


def test_samples_are_binary_floats_in_feature_order():
    est = fit_small(ordering=[3, 1, 0, 2])
    samples = est.sample(50, random_state=0)

    assert samples.shape == (50, 4) and samples.dtype == np.float64
    assert set(np.unique(samples)) <= {0.0, 1.0}
    # Column 3 is modelled first and column 0 leans towards column 1's value.
    assert abs(samples.mean(axis=0)[3] - 0.4) < 0.3


def test_zero_samples_give_an_empty_array():
    est = fit_small()
    assert est.sample(0).shape == (0, 4)


def test_same_random_state_same_model_scores_and_samples():
    X = correlated_binary(200, 5, seed=2)
    a = MADEEstimator(
        hidden_layer_sizes=(12,),
        n_masks=2,
        ordering="random",
        max_iter=10,
        random_state=7,
    ).fit(X)
    b = MADEEstimator(
        hidden_layer_sizes=(12,),
        n_masks=2,
        ordering="random",
        max_iter=10,
        random_state=7,
    ).fit(X)

    np.testing.assert_array_equal(a.ordering_, b.ordering_)
    for wa, wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    np.testing.assert_array_equal(
        a.sample(30, random_state=3), b.sample(30, random_state=3)
    )


def test_random_state_instance_advances_between_calls():
    est = fit_small()
    rng = np.random.RandomState(0)
    first, second = est.sample(200, random_state=rng), est.sample(200, random_state=rng)
    assert not np.array_equal(first, second)


def test_random_numbers_follow_the_documented_layout():
    # Rebuild a draw of three mask members by hand from fastmade._sampling's
    # layout: one uniform picks each row's member, then D for its dimensions.
    est = fit_small(n_masks=3, ordering="random")
    network = est._network
    n_rows, n_features = 60, network.n_features
    u = np.random.RandomState(4).random_sample((n_rows, 1 + n_features))
    members = np.floor(3 * u[:, 0]).astype(int)
    noise = network.conditional.prepare_noise(u[:, 1:].reshape(n_rows, n_features, 1))
    assert set(members) == {0, 1, 2}

    canonical = np.empty((n_rows, n_features))
    for member in range(3):
        rows = members == member
        canonical[rows] = sample_member_naive(network, member, noise[rows])
    expected = np.empty_like(canonical)
    expected[:, network.orderings[0]] = canonical

    for method in ("naive", "cached"):
        drawn = est.sample(n_rows, random_state=4, method=method)
        np.testing.assert_array_equal(drawn, expected)


def test_an_integer_seed_draws_what_a_new_random_state_draws():
    with seeded_rng(7) as rng:
        first = rng.random_sample(5)
    with seeded_rng(123) as rng:
        rng.random_sample(3)
    with seeded_rng(7) as rng:
        again = rng.random_sample(5)
    np.testing.assert_array_equal(first, np.random.RandomState(7).random_sample(5))
    np.testing.assert_array_equal(again, first)
    with pytest.raises(ValueError, match="Seed must be between"):
        with seeded_rng(-1):
            pass


def test_a_nested_integer_seed_leaves_the_outer_draws_alone():
    # Code that runs inside a draw (a profiler hook, say) may sample too.
    with seeded_rng(5) as outer:
        head = outer.random_sample(3)
        with seeded_rng(7) as inner:
            np.testing.assert_array_equal(
                inner.random_sample(4), np.random.RandomState(7).random_sample(4)
            )
        tail = outer.random_sample(3)
    expected = np.random.RandomState(5).random_sample(6)
    np.testing.assert_array_equal(np.concatenate([head, tail]), expected)

    # The reusable generator is free again afterwards.
    with seeded_rng(9) as rng:
        assert rng is outer


def test_threads_sampling_with_integer_seeds_do_not_disturb_each_other():
    est = fit_small(n_masks=2, ordering="random")
    seeds = list(range(16))
    alone = [est.sample(300, random_state=seed) for seed in seeds]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda s: est.sample(300, random_state=s), seeds))
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)


def test_fitting_never_touches_the_global_random_state():
    np.random.seed(11)
    expected = np.random.rand()
    np.random.seed(11)
    est = fit_small(random_state=None)
    est.sample(5)
    assert np.random.rand() == expected


@pytest.mark.parametrize(
    "params", [{}, {"n_masks": 3, "ordering": "random", "hidden_layer_sizes": (8, 8)}]
)
def test_pickled_model_scores_and_samples_identically(params):
    est = fit_small(**params)
    X = all_binary_vectors(4)
    loaded = pickle.loads(pickle.dumps(est))

    np.testing.assert_array_equal(loaded.score_samples(X), est.score_samples(X))
    np.testing.assert_array_equal(
        loaded.sample(100, random_state=5), est.sample(100, random_state=5)
    )


def test_chunking_does_not_change_the_samples():
    est = fit_small(n_masks=2, ordering="random")
    expected = est.sample(500, random_state=4)
    with sklearn.config_context(working_memory=0.0005):
        chunked = est.sample(500, random_state=4)
    np.testing.assert_array_equal(chunked, expected)


def test_warm_start_continues_from_the_previous_weights():
    X = correlated_binary(200, 5, seed=4)
    est = MADEEstimator(
        hidden_layer_sizes=(12,),
        max_iter=2,
        warm_start=True,
        early_stopping=False,
        random_state=0,
    ).fit(X)
    first = est.score(X)
    ordering = est.ordering_.copy()
    est.fit(X)

    np.testing.assert_array_equal(est.ordering_, ordering)
    assert est.score(X) > first


def test_warm_start_extends_the_training_record():
    X = correlated_binary(200, 5, seed=4)
    est = MADEEstimator(
        hidden_layer_sizes=(12,), max_iter=5, n_iter_no_change=50, random_state=0
    ).fit(X)
    curve, scores = list(est.loss_curve_), list(est.validation_scores_)
    est.set_params(warm_start=True, max_iter=3).fit(X)

    assert est.n_iter_ == 8
    assert est.loss_curve_[:5] == curve and len(est.loss_curve_) == 8
    assert est.validation_scores_[:5] == scores and len(est.validation_scores_) == 8

    # A cold refit starts the record again.
    est.set_params(warm_start=False).fit(X)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3


def test_coefs_are_reported_in_feature_order():
    est = fit_small(ordering=[2, 0, 3, 1], dtype="float64")
    # Column 1 is modelled last (degree 4); hidden degrees are at most 3.
    assert np.all(est.coefs_[0][1] == 0)
    assert np.any(est.coefs_[0][2] != 0)
    direct = est.coefs_[-1]
    # Column 2 is modelled first: no direct connection reaches its output.
    assert np.all(direct[:, 2] == 0)
    # Column 1 is modelled last: it feeds no output.
    assert np.all(direct[1] == 0)


def test_verbose_prints_one_line_per_epoch(capsys):
    est = fit_small(verbose=1, max_iter=3, n_iter_no_change=50)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == est.n_iter_ == 3
    assert lines[0].startswith("MADEEstimator: epoch 1, train NLL")
    assert "valid NLL" in lines[0] and lines[0].endswith(" s")


def test_narrow_layers_warn_that_connections_are_lost():
    X = correlated_binary(50, 6, seed=5)
    with pytest.warns(UserWarning, match="lose part of their inputs"):
        MADEEstimator(hidden_layer_sizes=(3,), max_iter=2).fit(X)


def test_sampling_memory_stays_near_the_output_size():
    import tracemalloc

    est = fit_small(n_masks=2, ordering="random")
    n_samples = 200_000
    est.sample(10)
    with sklearn.config_context(working_memory=1):
        tracemalloc.start()
        samples = est.sample(n_samples, random_state=0)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    # The output plus one chunk of a megabyte or so, whatever n_samples is.
    assert peak < samples.nbytes + 4 * 2**20
