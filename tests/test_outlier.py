"""MADEOutlierDetector behaves as scikit-learn expects of an outlier detector."""

import copy
import pickle
import warnings

import numpy as np
import pytest
from conftest import correlated_binary
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_sklearn_compat import EXPECTED_FAILURES, NON_BINARY, ThresholdedMADE

from fastmade import MADEEstimator, MADEOutlierDetector

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class ThresholdedDetector(ThresholdedMADE, MADEOutlierDetector):
    """The detector behind the same threshold as ThresholdedMADE."""


def small(cls, **params):
    return cls(hidden_layer_sizes=(8,), max_iter=5, random_state=0, **params)


def quick(cls=MADEOutlierDetector, **params):
    """A quick fit, wide enough for the 12 columns of ``distinct_rows``."""
    return cls(hidden_layer_sizes=(16,), max_iter=20, random_state=0, **params)


@parametrize_with_checks([small(MADEOutlierDetector)])
def test_sklearn_checks(estimator, check):
    check(estimator)


# Fixed to Bernoulli conditionals, the detector may fail only the checks
# MADEEstimator fails, for the same reason (they feed data it does not model);
# they pass on ThresholdedDetector.
DETECTOR_FAILURES = {
    **EXPECTED_FAILURES,
    **{
        name: NON_BINARY
        for name in [
            "check_outliers_fit_predict",
            "check_outliers_train",
            "check_classifier_data_not_an_array",
            "check_non_transformer_estimators_n_iter",
        ]
    },
}


@parametrize_with_checks(
    [small(MADEOutlierDetector, distribution="bernoulli")],
    expected_failed_checks=lambda estimator: DETECTOR_FAILURES,
)
def test_sklearn_checks_with_bernoulli_conditionals(estimator, check):
    check(estimator)


@parametrize_with_checks([small(ThresholdedDetector, distribution="bernoulli")])
def test_sklearn_checks_pass_once_the_data_is_binary(estimator, check):
    check(estimator)


def distinct_rows(n_samples=400, n_features=12, seed=0):
    """Correlated rows with few duplicates, so training scores rarely tie."""
    X = correlated_binary(n_samples, n_features, seed)
    noise = np.random.RandomState(seed + 1).rand(*X.shape) < 0.15
    return np.where(noise, 1 - X, X)


@pytest.fixture(scope="module")
def fitted():
    return quick(contamination=0.1).fit(distinct_rows())


def test_every_parameter_of_the_density_estimator_is_a_parameter(fitted):
    density = set(MADEEstimator().get_params())
    assert set(fitted.get_params()) == density | {"contamination"}
    assert MADEOutlierDetector().contamination == 0.1


def test_scores_are_the_log_likelihoods_of_the_density(fitted):
    X = distinct_rows(seed=5)
    density = quick(MADEEstimator).fit(distinct_rows())
    np.testing.assert_array_equal(fitted.score_samples(X), density.score_samples(X))


def test_decision_function_is_the_score_minus_the_offset(fitted):
    X = distinct_rows(seed=5)
    np.testing.assert_allclose(
        fitted.decision_function(X), fitted.score_samples(X) - fitted.offset_
    )


def test_offset_is_the_contamination_percentile_of_the_training_scores(fitted):
    scores = fitted.score_samples(distinct_rows())
    assert fitted.offset_ == pytest.approx(np.percentile(scores, 10))


def test_predict_agrees_with_the_sign_of_the_decision_function(fitted):
    X = distinct_rows(seed=5)
    labels = fitted.predict(X)

    assert labels.dtype.kind == "i"
    assert set(np.unique(labels)) == {-1, 1}
    np.testing.assert_array_equal(labels == 1, fitted.decision_function(X) >= 0)


def test_a_row_on_the_threshold_is_an_inlier(fitted):
    X = distinct_rows()[:1]
    fitted = copy.deepcopy(fitted)
    fitted.offset_ = float(fitted.score_samples(X)[0])

    assert fitted.decision_function(X)[0] == 0
    assert fitted.predict(X)[0] == 1


@pytest.mark.parametrize("contamination", [0.01, 0.05, 0.1, 0.25, 0.5])
def test_share_of_training_outliers_is_the_contamination(contamination):
    X = distinct_rows()
    detector = quick(contamination=contamination).fit(X)
    scores = detector.score_samples(X)
    n_outliers = int(np.sum(detector.predict(X) == -1))

    expected = contamination * len(X)
    # Rows whose score ties the threshold may fall either side; count them.
    tied = int(np.sum(np.isclose(scores, detector.offset_, rtol=0, atol=1e-12)))
    assert abs(n_outliers - expected) <= max(tied, 1)


def test_fit_predict_labels_the_training_rows(fitted):
    X = distinct_rows()
    labels = clone(fitted).fit_predict(X)
    np.testing.assert_array_equal(labels, fitted.predict(X))


@pytest.mark.parametrize("contamination", [0.0, -0.1, 0.6, "auto"])
def test_contamination_outside_zero_to_half_is_refused(contamination):
    detector = MADEOutlierDetector(contamination=contamination)
    with pytest.raises(InvalidParameterError, match="contamination"):
        detector.fit(distinct_rows())


def test_frames_raise_no_feature_name_warning():
    pd = pytest.importorskip("pandas")
    X = distinct_rows()
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*feature names")
        detector = quick(contamination=0.2).fit(frame)
        detector.predict(frame)
        detector.decision_function(frame)
        clone(detector).fit_predict(frame)

    assert list(detector.feature_names_in_) == list(frame.columns)
    with pytest.warns(UserWarning, match="feature names"):
        detector.predict(X)


def test_frame_and_array_give_the_same_threshold():
    pd = pytest.importorskip("pandas")
    X = distinct_rows()
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])

    from_frame = quick().fit(frame)
    from_array = quick().fit(X)

    assert from_frame.offset_ == from_array.offset_


def test_refit_on_an_array_forgets_the_feature_names():
    pd = pytest.importorskip("pandas")
    X = distinct_rows()
    frame = pd.DataFrame(X, columns=list("abcdefghijkl"))
    detector = quick().fit(frame)
    detector.fit(X)
    assert not hasattr(detector, "feature_names_in_")


def test_outliers_are_the_rows_that_break_the_pattern():
    rng = np.random.RandomState(0)
    X = (rng.rand(500, 10) < 0.3).astype(float)
    X[:, 5:] = X[:, :5]
    broken = X[:20].copy()
    broken[:, 5:] = 1 - broken[:, 5:]

    detector = MADEOutlierDetector(
        hidden_layer_sizes=(32,), contamination=0.01, random_state=0
    ).fit(X)

    assert np.all(detector.predict(broken) == -1)
    assert np.mean(detector.predict(X) == 1) >= 0.98


def test_real_valued_outliers_are_the_points_off_the_line():
    rng = np.random.RandomState(0)
    t = rng.normal(size=500)
    X = np.column_stack([t, 2 * t + 0.05 * rng.normal(size=500)])
    off_the_line = np.array([[0.0, 1.5], [1.0, -1.0], [-1.0, 0.5]])

    detector = MADEOutlierDetector(
        hidden_layer_sizes=(16,), contamination=0.02, random_state=0
    ).fit(X)

    assert detector.distribution_ == "gaussian"
    np.testing.assert_array_equal(detector.predict(off_the_line), [-1, -1, -1])


def test_pickled_detector_predicts_identically(fitted):
    X = distinct_rows(seed=5)
    loaded = pickle.loads(pickle.dumps(fitted))
    assert loaded.offset_ == fitted.offset_
    np.testing.assert_array_equal(
        loaded.decision_function(X), fitted.decision_function(X)
    )


def test_verbose_lines_name_the_detector(capsys):
    quick(verbose=1).fit(distinct_rows())
    assert capsys.readouterr().out.startswith("MADEOutlierDetector: epoch 1,")
