"""MADEEstimator behaves as scikit-learn expects of a density estimator."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import correlated_binary
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Binarizer
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastmade import MADEEstimator

NON_BINARY = "feeds real-valued data to a model fixed to Bernoulli conditionals"

# With distribution="bernoulli" each of these fails only because it feeds
# non-binary data: the same checks run on ThresholdedMADE below, which binarises
# its input first, and pass there.
EXPECTED_FAILURES = {
    name: NON_BINARY
    for name in [
        "check_fit_score_takes_y",
        "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_pipeline_consistency",
        "check_estimators_nan_inf",
        "check_estimator_sparse_tag",
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_fit2d_1feature",
        "check_dict_unchanged",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
        "check_fit2d_predict1d",
    ]
}


def _threshold_values(values):
    """0/1 at 0.5 for finite entries; NaN and inf pass through to be refused."""
    return np.where(np.isfinite(values), values > 0.5, values).astype(values.dtype)


def threshold(X):
    """Binarise any input the checks feed, keeping its container and dtype."""
    if sp.issparse(X):
        X = X.tocsr(copy=True)
        X.data = _threshold_values(X.data)
        return X
    if hasattr(X, "columns"):
        return X.apply(lambda column: _threshold_values(column.to_numpy()))
    values = np.asarray(X)
    if values.dtype.kind in "fiu":
        return _threshold_values(values)
    if values.dtype.kind == "O":
        try:
            return _threshold_values(values.astype(float)).astype(object)
        except (TypeError, ValueError):
            return X
    return X


class ThresholdedMADE(MADEEstimator):
    """MADEEstimator behind a threshold, so checks with real data reach the rest."""

    def fit(self, X, y=None):
        return super().fit(threshold(X), y)

    def score_samples(self, X):
        return super().score_samples(threshold(X))


def small(cls, **params):
    return cls(hidden_layer_sizes=(8,), max_iter=5, random_state=0, **params)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([small(MADEEstimator)])
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [small(MADEEstimator, distribution="bernoulli")],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
)
def test_sklearn_checks_with_bernoulli_conditionals(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([small(ThresholdedMADE, distribution="bernoulli")])
def test_sklearn_checks_pass_once_the_data_is_binary(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_works_in_a_pipeline_behind_a_binarizer():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 5))
    pipe = Pipeline([("bin", Binarizer()), ("made", small(MADEEstimator))]).fit(X)

    scores = pipe.score_samples(X)

    expected = pipe.named_steps["made"].score_samples((X > 0).astype(float))
    np.testing.assert_allclose(scores, expected)
    assert scores.shape == (150,) and np.all(scores < 0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_over_hidden_layer_sizes():
    X = correlated_binary(200, 6, seed=3)
    search = GridSearchCV(
        MADEEstimator(max_iter=20, random_state=0),
        {"hidden_layer_sizes": [(4,), (32,)]},
        cv=3,
    ).fit(X)

    assert search.best_params_["hidden_layer_sizes"] in [(4,), (32,)]
    assert np.isfinite(search.best_score_)
    assert len(search.cv_results_["mean_test_score"]) == 2
