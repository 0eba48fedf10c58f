"""Every bad input is refused with a message that says what is accepted."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import correlated_binary

from fastmade import MADEEstimator

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def fitted(binary_data):
    return MADEEstimator(
        hidden_layer_sizes=(10,), distribution="bernoulli", max_iter=5, random_state=0
    ).fit(binary_data)


def unchanged(est, before):
    """The estimator's fitted state equals a pickled snapshot of it."""
    return pickle.dumps(est) == before


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.nan, "Input X contains NaN"),
        (np.inf, "Input X contains infinity"),
        (0.5, r"column 2 holds 0.5 \(row 3\).*Binarizer"),
        (2, r"column 2 holds 2.0 \(row 3\).*Binarizer"),
        (-1, r"column 2 holds -1.0 \(row 3\).*Binarizer"),
    ],
)
def test_bad_values_are_refused_and_leave_the_model_as_it_was(
    fitted, binary_data, bad, message
):
    X = binary_data.copy()
    X[3, 2] = bad
    before = pickle.dumps(fitted)

    with pytest.raises(ValueError, match=message):
        fitted.fit(X)
    with pytest.raises(ValueError, match=message):
        fitted.score_samples(X)

    assert unchanged(fitted, before)


def test_wrong_feature_count_is_named(fitted, binary_data):
    with pytest.raises(
        ValueError, match="X has 5 features, but MADEEstimator is expecting 6 features"
    ):
        fitted.score_samples(binary_data[:, :5])


def test_refit_on_other_data_that_fails_keeps_the_old_feature_count(fitted):
    before = pickle.dumps(fitted)
    X = correlated_binary(30, 9, seed=1)
    X[0, 0] = 3

    with pytest.raises(ValueError, match="binary"):
        fitted.fit(X)

    assert fitted.n_features_in_ == 6
    assert unchanged(fitted, before)


def test_one_dimensional_input_asks_for_a_reshape(fitted):
    with pytest.raises(ValueError, match="(?s)Expected 2D array.*Reshape"):
        fitted.score_samples(np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="Expected 2D array"):
        MADEEstimator().fit(np.array([0.0, 1.0, 1.0]))


@pytest.mark.parametrize("shape", [(0, 6), (5, 0)])
def test_empty_input_is_refused(shape):
    with pytest.raises(ValueError, match="0 sample|0 feature"):
        MADEEstimator().fit(np.zeros(shape))


def test_complex_input_is_refused(binary_data):
    with pytest.raises(ValueError, match="Complex data not supported"):
        MADEEstimator().fit(binary_data.astype(complex))


def test_object_arrays_of_text_are_refused(binary_data):
    X = binary_data.astype(object)
    X[0, 0] = "yes"
    with pytest.raises(ValueError, match="could not convert string to float"):
        MADEEstimator().fit(X)


def test_object_arrays_of_numbers_are_read_as_numbers(fitted, binary_data):
    np.testing.assert_allclose(
        fitted.score_samples(binary_data.astype(object)),
        fitted.score_samples(binary_data),
    )


def test_single_sample_with_early_stopping_is_refused():
    with pytest.raises(ValueError, match="1 sample"):
        MADEEstimator().fit(np.ones((1, 4)))


def test_single_sample_without_early_stopping_fits():
    est = MADEEstimator(hidden_layer_sizes=(4,), early_stopping=False, max_iter=3)
    assert np.isfinite(est.fit(np.ones((1, 4))).score(np.ones((1, 4))))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": ()}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (2.5,)}, "hidden_layer_sizes"),
        ({"activation": "gelu"}, "activation"),
        ({"alpha": -1.0}, "alpha"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"max_iter": 0}, "max_iter"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"ordering": "reversed"}, "ordering"),
        ({"ordering": [0, 1, 2]}, "permutation of the integers 0..5"),
        ({"ordering": [0, 1, 2, 3, 4, 4]}, "permutation of the integers 0..5"),
        ({"hidden_degrees": "uniform"}, "hidden_degrees"),
        ({"n_masks": 0}, "n_masks"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_bad_parameters_name_the_parameter(binary_data, params, message):
    with pytest.raises(ValueError, match=message):
        MADEEstimator(**params).fit(binary_data)


def test_unfitted_estimator_raises_not_fitted(binary_data):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MADEEstimator().score_samples(binary_data)
    with pytest.raises(NotFittedError):
        MADEEstimator().sample(3)


@pytest.mark.parametrize("n_samples", [-1, 2.5, "3", True, None])
def test_bad_sample_counts_are_refused(fitted, n_samples):
    with pytest.raises((TypeError, ValueError), match="non-negative integer"):
        fitted.sample(n_samples)


def test_unknown_sampling_method_is_refused(fitted):
    with pytest.raises(ValueError, match="method must be one of"):
        fitted.sample(3, method="gibbs")


# Every accepted container and dtype scores the same rows the same way.
def as_list(X):
    return X.tolist()


def as_int(X):
    return X.astype(np.int64)


def as_uint8(X):
    return X.astype(np.uint8)


def as_bool(X):
    return X.astype(bool)


def as_float32(X):
    return X.astype(np.float32)


def as_read_only(X):
    X = X.copy()
    X.flags.writeable = False
    return X


def as_fortran(X):
    return np.asfortranarray(X)


def as_strided(X):
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X
    return wide[:, ::2]


def as_csr(X):
    return sp.csr_matrix(X)


def as_csc_array(X):
    return sp.csc_array(X)


def as_coo(X):
    return sp.coo_matrix(X)


def as_frame(X):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])


CONTAINERS = [
    as_list,
    as_int,
    as_uint8,
    as_bool,
    as_float32,
    as_read_only,
    as_fortran,
    as_strided,
    as_csr,
    as_csc_array,
    as_coo,
    as_frame,
]


@pytest.mark.parametrize("container", CONTAINERS)
def test_every_accepted_input_scores_like_a_float64_array(
    fitted, binary_data, container
):
    expected = fitted.score_samples(binary_data)
    np.testing.assert_allclose(fitted.score_samples(container(binary_data)), expected)


@pytest.mark.parametrize("container", CONTAINERS)
def test_every_accepted_input_fits_like_a_float64_array(binary_data, container):
    def fit(X):
        return MADEEstimator(hidden_layer_sizes=(10,), max_iter=5, random_state=0).fit(
            X
        )

    expected = fit(binary_data).score_samples(binary_data)
    got = fit(container(binary_data)).score_samples(binary_data)

    np.testing.assert_allclose(got, expected)


def test_frames_record_feature_names(binary_data):
    frame = as_frame(binary_data)
    est = MADEEstimator(hidden_layer_sizes=(10,), max_iter=5, random_state=0)
    est.fit(frame)

    assert list(est.feature_names_in_) == list(frame.columns)
    with pytest.warns(UserWarning, match="feature names"):
        est.score_samples(binary_data)


def test_sparse_input_is_densified_in_chunks(binary_data):
    import sklearn

    est = MADEEstimator(hidden_layer_sizes=(10,), max_iter=5, random_state=0)
    est.fit(binary_data)
    expected = est.score_samples(binary_data)

    # A working memory of a few rows' worth forces many chunks.
    with sklearn.config_context(working_memory=0.0001):
        got = est.score_samples(sp.csr_matrix(binary_data))
        refit = MADEEstimator(hidden_layer_sizes=(10,), max_iter=5, random_state=0)
        refit.fit(sp.csr_matrix(binary_data))

    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(refit.score_samples(binary_data), expected)


def test_sparse_non_binary_value_is_named(binary_data):
    X = sp.csr_matrix(binary_data)
    X.data[X.data == 1] = 1
    X = X.tolil()
    X[4, 1] = 7
    with pytest.raises(ValueError, match=r"column 1 holds 7.0 \(row 4\)"):
        MADEEstimator(distribution="bernoulli").fit(X.tocsr())


def test_auto_distribution_reads_real_values_as_gaussian(binary_data):
    X = binary_data.copy()
    X[3, 2] = 0.5
    est = MADEEstimator(hidden_layer_sizes=(10,), max_iter=5, random_state=0).fit(X)
    assert est.distribution_ == "gaussian"
    assert MADEEstimator(max_iter=2).fit(binary_data).distribution_ == "bernoulli"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_jobs": 0}, "n_jobs"),
        ({"ordering": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]}, "integers 0..5"),
        ({"hidden_layer_sizes": [5, True]}, "hidden_layer_sizes"),
    ],
)
def test_parameters_of_the_wrong_kind_are_refused(binary_data, params, message):
    with pytest.raises(ValueError, match=message):
        MADEEstimator(**params).fit(binary_data)


def test_text_categories_are_refused_with_advice():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": ["0", "1"] * 20, "b": ["1", "0"] * 20})
    with pytest.raises(TypeError, match="needs numbers.*Convert the columns"):
        MADEEstimator().fit(frame.astype("category"))


def test_duplicate_sparse_entries_add_up_before_the_binary_check():
    rows, cols = np.array([0, 0, 1, 2]), np.array([0, 0, 1, 2])
    # Two stored ones in cell (0, 0): the cell holds 2.
    X = sp.coo_matrix((np.array([1.0, 1.0, 1.0, 1.0]), (rows, cols)), shape=(4, 3))
    with pytest.raises(ValueError, match=r"holds 2.0 \(row 0\)"):
        MADEEstimator(distribution="bernoulli").fit(X)
    assert MADEEstimator(max_iter=2).fit(X).distribution_ == "gaussian"


def test_a_diverging_fit_raises_instead_of_returning_nan(binary_data):
    est = MADEEstimator(
        hidden_layer_sizes=(8,),
        learning_rate_init=1e30,
        distribution="bernoulli",
        max_iter=5,
        random_state=0,
    )
    with pytest.raises(ValueError, match="training diverged"):
        est.fit(binary_data)
    assert not hasattr(est, "n_features_in_")
