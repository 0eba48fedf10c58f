"""Model files round-trip every fitted model and refuse every bad file."""

import io
import os
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pytest
from conftest import correlated_binary

import fastmade
from fastmade import MADEEstimator, MADEOutlierDetector
from fastmade._model_files import FORMAT_VERSION, ModelFileError

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Some hidden layer:UserWarning"),
]

X = correlated_binary(150, 6, seed=0)
X_OTHER = correlated_binary(40, 6, seed=9)

ARCHITECTURES = {
    "one layer": {},
    "two layers": dict(hidden_layer_sizes=(12, 10)),
    "three layers, tanh": dict(hidden_layer_sizes=(8, 9, 7), activation="tanh"),
    "sigmoid": dict(activation="sigmoid"),
    "narrower than the inputs": dict(hidden_layer_sizes=(3,)),
    "random orderings, three masks": dict(ordering="random", n_masks=3),
    "explicit ordering": dict(ordering=(3, 0, 5, 1, 4, 2)),
    "equal degrees": dict(hidden_degrees="equal"),
    "random degrees, two masks": dict(hidden_degrees="random", n_masks=2),
    "no direct connections": dict(direct_connections=False),
    "float64": dict(dtype="float64"),
    "no early stopping": dict(early_stopping=False),
    "dense masked products": dict(masked_product="dense"),
}

REAL_VALUED = {
    "gaussian": dict(distribution="gaussian"),
    "mixture": dict(distribution="mixture", n_components=2),
    "mixture, two layers, float64": dict(
        distribution="mixture",
        n_components=3,
        hidden_layer_sizes=(12, 10),
        dtype="float64",
    ),
}
X_REAL = X + np.random.RandomState(1).normal(scale=0.3, size=X.shape) * [
    1,
    2,
    3,
    4,
    5,
    6,
]


def fit(cls=MADEEstimator, **params):
    defaults = dict(hidden_layer_sizes=(10,), max_iter=8, random_state=0)
    return cls(**{**defaults, **params}).fit(X)


def round_trip(model, tmp_path, name="model.npz"):
    path = tmp_path / name
    fastmade.save(model, path)
    return fastmade.load(path)


def assert_same_fitted_state(loaded, model):
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert loaded._fit_architecture == model._fit_architecture
    assert loaded.n_features_in_ == model.n_features_in_
    assert loaded.distribution_ == model.distribution_
    assert loaded.n_iter_ == model.n_iter_
    assert loaded.loss_curve_ == model.loss_curve_
    assert loaded.validation_scores_ == model.validation_scores_
    assert loaded.best_validation_score_ == model.best_validation_score_
    np.testing.assert_array_equal(loaded.ordering_, model.ordering_)
    for got, expected in zip(loaded.hidden_degrees_, model.hidden_degrees_):
        for got_layer, expected_layer in zip(got, expected):
            np.testing.assert_array_equal(got_layer, expected_layer)
    for got, expected in zip(
        loaded.coefs_ + loaded.intercepts_, model.coefs_ + model.intercepts_
    ):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("cls", [MADEEstimator, MADEOutlierDetector])
@pytest.mark.parametrize("params", ARCHITECTURES.values(), ids=ARCHITECTURES.keys())
def test_round_trip_scores_and_samples_identically(tmp_path, cls, params):
    model = fit(cls, **params)
    loaded = round_trip(model, tmp_path)

    assert_same_fitted_state(loaded, model)
    np.testing.assert_array_equal(
        loaded.score_samples(X_OTHER), model.score_samples(X_OTHER)
    )
    for method in ("cached", "naive"):
        np.testing.assert_array_equal(
            loaded.sample(200, random_state=3, method=method),
            model.sample(200, random_state=3, method=method),
        )


@pytest.mark.parametrize("cls", [MADEEstimator, MADEOutlierDetector])
@pytest.mark.parametrize("params", REAL_VALUED.values(), ids=REAL_VALUED.keys())
def test_real_valued_models_round_trip_with_their_standardisation(
    tmp_path, cls, params
):
    defaults = dict(hidden_layer_sizes=(10,), max_iter=8, random_state=0)
    model = cls(**{**defaults, **params}).fit(X_REAL)
    loaded = round_trip(model, tmp_path)

    assert_same_fitted_state(loaded, model)
    np.testing.assert_array_equal(
        loaded.score_samples(X_REAL[:40]), model.score_samples(X_REAL[:40])
    )
    # The naive sampler is the reference for every conditional.
    np.testing.assert_array_equal(
        loaded.sample(100, random_state=2, method="naive"),
        model.sample(100, random_state=2, method="naive"),
    )


def test_a_real_valued_model_without_its_standardisation_is_refused(tmp_path):
    model = MADEEstimator(hidden_layer_sizes=(10,), max_iter=3, random_state=0)
    path = tmp_path / "gaussian.npz"
    fastmade.save(model.fit(X_REAL), path)

    with pytest.raises(ValueError, match="lacks 'scale'"):
        fastmade.load(rewritten(path, tmp_path, drop=["scale"]))
    with pytest.raises(ValueError, match="'scale' that is not positive"):
        fastmade.load(rewritten(path, tmp_path, scale=np.zeros(6)))


def test_detector_keeps_its_offset_and_labels(tmp_path):
    model = fit(MADEOutlierDetector, contamination=0.2)
    loaded = round_trip(model, tmp_path)

    assert loaded.offset_ == model.offset_
    np.testing.assert_array_equal(loaded.predict(X_OTHER), model.predict(X_OTHER))


def test_feature_names_survive_and_frames_score_without_warnings(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(6)])
    model = MADEOutlierDetector(
        hidden_layer_sizes=(10,), max_iter=5, random_state=0
    ).fit(frame)
    loaded = round_trip(model, tmp_path)

    assert list(loaded.feature_names_in_) == list(frame.columns)
    assert loaded.feature_names_in_.dtype == object
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_warm_start_continues_a_loaded_model_as_it_would_the_original(tmp_path):
    model = fit(early_stopping=False, max_iter=3)
    loaded = round_trip(model, tmp_path)
    cold = fit(early_stopping=False, max_iter=2)

    for est in (model, loaded):
        est.set_params(warm_start=True, max_iter=2).fit(X)

    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    assert not np.array_equal(loaded.score_samples(X), cold.score_samples(X))


def test_parameters_changed_after_fitting_do_not_change_the_network(tmp_path):
    model = fit()
    model.set_params(hidden_layer_sizes=(99, 99), activation="tanh")
    loaded = round_trip(model, tmp_path)

    assert loaded.get_params()["hidden_layer_sizes"] == (99, 99)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


def test_sequences_read_back_as_tuples(tmp_path):
    loaded = round_trip(
        fit(ordering=[1, 0, 2, 3, 5, 4], hidden_layer_sizes=[10, 8]), tmp_path
    )
    assert loaded.ordering == (1, 0, 2, 3, 5, 4)
    assert loaded.hidden_layer_sizes == (10, 8)


def test_a_random_state_instance_is_stored_as_none(tmp_path):
    loaded = round_trip(fit(random_state=np.random.RandomState(0)), tmp_path)
    assert loaded.random_state is None


def test_the_layout_is_the_documented_one(tmp_path):
    path = tmp_path / "model.npz"
    fastmade.save(fit(MADEOutlierDetector, hidden_layer_sizes=(10, 8)), path)

    with np.load(path, allow_pickle=False) as archive:
        members = {key: archive[key] for key in archive.files}

    assert set(members) == {
        "format_version",
        "fastmade_version",
        "class_name",
        "params",
        "network",
        "fit_architecture",
        "n_features_in",
        "orderings",
        "hidden_degrees_0",
        "hidden_degrees_1",
        "weight_0",
        "weight_1",
        "weight_2",
        "weight_3",
        "bias_0",
        "bias_1",
        "bias_2",
        "n_iter",
        "loss_curve",
        "validation_scores",
        "best_validation_score",
        "offset",
    }
    assert str(members["network"]) == NETWORK
    assert members["format_version"] == FORMAT_VERSION
    assert str(members["fastmade_version"]) == fastmade.__version__
    assert str(members["class_name"]) == "MADEOutlierDetector"
    assert members["hidden_degrees_1"].shape == (1, 8)
    assert members["weight_3"].shape == (6, 6)
    assert not any(value.dtype.hasobject for value in members.values())


def test_pickle_and_joblib_still_work_on_saved_and_loaded_models(tmp_path):
    model = fit(MADEOutlierDetector, n_masks=2, ordering="random")
    joblib.dump(round_trip(model, tmp_path), tmp_path / "model.joblib")
    copies = [
        pickle.loads(pickle.dumps(model)),
        pickle.loads(pickle.dumps(round_trip(model, tmp_path))),
        joblib.load(tmp_path / "model.joblib"),
    ]

    for copy in copies:
        np.testing.assert_array_equal(
            copy.decision_function(X), model.decision_function(X)
        )


def test_save_writes_the_name_as_given(tmp_path):
    path = tmp_path / "model.bin"
    fastmade.save(fit(), path)
    assert os.listdir(tmp_path) == ["model.bin"]
    assert fastmade.load(path).n_features_in_ == 6


def test_a_failed_save_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    fastmade.save(fit(), path)
    before = path.read_bytes()

    def broken_savez(handle, **arrays):
        handle.write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        fastmade.save(fit(max_iter=2), path)

    assert os.listdir(tmp_path) == ["model.npz"]
    assert path.read_bytes() == before


def test_save_into_a_missing_directory_names_the_path_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing_dir/m.npz") as raised:
        fastmade.save(fit(max_iter=2), "missing_dir/m.npz")

    assert raised.value.filename == "missing_dir/m.npz"
    assert os.listdir(tmp_path) == []


def test_save_refuses_an_empty_path_and_a_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = fit(max_iter=2)
    with pytest.raises(ValueError, match="output path is empty"):
        fastmade.save(model, "")
    with pytest.raises(IsADirectoryError, match="names a directory") as raised:
        fastmade.save(model, tmp_path)

    assert raised.value.filename == str(tmp_path)
    assert os.listdir(tmp_path) == []
    assert not [name for name in os.listdir(tmp_path.parent) if name.endswith(".part")]


def test_save_refuses_an_unfitted_model(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        fastmade.save(MADEEstimator(), tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()


def test_save_refuses_a_subclass_it_could_not_load(tmp_path):
    class Custom(MADEEstimator):
        pass

    model = Custom(hidden_layer_sizes=(10,), max_iter=2, random_state=0).fit(X)
    with pytest.raises(TypeError, match="pickle or joblib"):
        fastmade.save(model, tmp_path / "model.npz")


# Bad files: each is a good file with one thing changed.


@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "model.npz"
    fastmade.save(fit(MADEOutlierDetector, hidden_layer_sizes=(10, 8)), path)
    return path


def rewritten(good_file, tmp_path, drop=(), **changes):
    """A copy of ``good_file`` with members dropped or replaced."""
    with np.load(good_file) as archive:
        members = {key: archive[key] for key in archive.files}
    for key in drop:
        del members[key]
    members.update(changes)
    path = tmp_path / "bad.npz"
    np.savez(path, **members)
    return path


NETWORK = (
    '{"layer_sizes": [10, 8], "n_masks": 1, "direct_connections": true, '
    '"dtype": "float32", "activation": "relu", "distribution": "bernoulli", '
    '"n_components": null}'
)


def float32(*shape):
    return np.zeros(shape, dtype=np.float32)


BAD_MEMBERS = {
    "newer format": (
        dict(format_version=np.array(FORMAT_VERSION + 1)),
        rf"format {FORMAT_VERSION + 1}, but this fastmade reads format "
        rf"{FORMAT_VERSION} and older; upgrade fastmade",
    ),
    "unknown class": (
        dict(class_name=np.array("MADEClassifier")),
        "holds a 'MADEClassifier', which is not a model class fastmade knows",
    ),
    "hidden weights of the wrong shape": (
        dict(weight_0=float32(6, 9)),
        r"'weight_0' of shape \(6, 9\), but the model it describes needs \(6, 10\)",
    ),
    "output weights of the wrong shape": (
        dict(weight_2=float32(8, 5)),
        r"'weight_2' of shape \(8, 5\)",
    ),
    "direct weights missing": (
        {"drop": ["weight_3"]},
        "lacks 'weight_3'",
    ),
    "bias of the wrong shape": (
        dict(bias_1=float32(9)),
        r"'bias_1' of shape \(9,\)",
    ),
    "degrees of the wrong shape": (
        dict(hidden_degrees_1=np.ones((2, 8), dtype=np.int64)),
        r"'hidden_degrees_1' of shape \(2, 8\)",
    ),
    "degrees out of range": (
        dict(hidden_degrees_0=np.full((1, 10), 6, dtype=np.int64)),
        r"hidden degrees outside 1..5 in layer 0",
    ),
    "ordering that is not a permutation": (
        dict(orderings=np.zeros((1, 6), dtype=np.int64)),
        "not permutations of 0..5",
    ),
    "feature count that does not match": (
        dict(n_features_in=np.array(7)),
        r"'orderings' of shape \(1, 6\), but the model it describes needs \(1, 7\)",
    ),
    "weights in another dtype": (
        dict(weight_1=np.zeros((10, 8))),
        "'weight_1' as float64, but the model is float32",
    ),
    "weights that are not finite": (
        dict(bias_0=np.full(10, np.nan, dtype=np.float32)),
        "non-finite values in 'bias_0'",
    ),
    "text where a number belongs": (
        dict(n_iter=np.array("eight")),
        "'n_iter' of dtype <U5",
    ),
    "parameters that are not JSON": (
        dict(params=np.array("{hidden")),
        "'params' that is not valid JSON",
    ),
    "an unknown parameter": (
        dict(params=np.array('{"hidden_layer_sizes": [10, 8], "wings": 2}')),
        "sets wings, which MADEOutlierDetector does not have here.*upgrade",
    ),
    "an invalid parameter": (
        dict(params=np.array('{"activation": "gelu"}')),
        "invalid parameter: The 'activation' parameter",
    ),
    "a detector without its offset": (
        {"drop": ["offset"]},
        "lacks 'offset'",
    ),
    "a network of an unknown distribution": (
        dict(network=np.array(NETWORK.replace('"bernoulli"', '"poisson"'))),
        "holds a 'network' member that describes no MADE",
    ),
    "a network description without its fields": (
        dict(network=np.array('{"layer_sizes": [10, 8]}')),
        "holds a 'network' member without the fields",
    ),
    "a network description that is not JSON": (
        dict(network=np.array("layers: 10, 8")),
        "'network' that is not valid JSON",
    ),
    "warm-start record that is not an array": (
        dict(fit_architecture=np.array('{"n_features": 6}')),
        "'fit_architecture' that is not a JSON array",
    ),
    "direct weights in a network without direct connections": (
        dict(
            network=np.array(
                NETWORK.replace(
                    '"direct_connections": true', '"direct_connections": false'
                )
            )
        ),
        "holds 'weight_3', which the model it describes does not have",
    ),
    "a member the layout does not define": (
        dict(notes=np.array("hello")),
        "holds 'notes', which the model it describes does not have",
    ),
    "standardisation in a binary model": (
        dict(shift=np.zeros(6), scale=np.ones(6)),
        "holds 'scale', which the model it describes does not have",
    ),
    "a pickled object": (
        dict(params=np.array([{"hidden_layer_sizes": [10]}], dtype=object)),
        "holds Python objects in 'params', which only a pickle can read",
    ),
}


@pytest.mark.parametrize(
    "changes, message", BAD_MEMBERS.values(), ids=BAD_MEMBERS.keys()
)
def test_bad_members_are_refused_with_a_message_naming_the_file(
    good_file, tmp_path, changes, message
):
    changes = dict(changes)
    path = rewritten(good_file, tmp_path, drop=changes.pop("drop", ()), **changes)

    with pytest.raises(ValueError, match=message) as raised:
        fastmade.load(path)

    assert isinstance(raised.value, ModelFileError)
    assert str(path) in str(raised.value)


class Trap:
    """Unpickling it creates a file: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_crafted_pickle_is_never_unpickled(good_file, tmp_path):
    proof = tmp_path / "code-ran"
    path = rewritten(good_file, tmp_path, weight_0=np.array([Trap(proof)]))

    with pytest.raises(ValueError, match="Python objects in 'weight_0'"):
        fastmade.load(path)

    assert not proof.exists()


@pytest.mark.parametrize(
    "compression",
    [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED],
    ids=["stored", "deflated"],
)
def test_a_member_declaring_more_data_than_the_file_holds_is_refused_unread(
    good_file, tmp_path, compression
):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(good_file) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "loss_curve.npy":
                content = header.getvalue() + bytes(64)
            target.writestr(info.filename, content, compress_type=compression)

    with pytest.raises(
        ModelFileError,
        match=r"declares 'loss_curve' of shape "
        r"\(1000000000000,\) \(8000000000000 bytes\), more than",
    ):
        fastmade.load(path)


def test_a_truncated_file_is_refused(good_file, tmp_path):
    path = tmp_path / "truncated.npz"
    content = good_file.read_bytes()
    path.write_bytes(content[: len(content) // 2])

    with pytest.raises(ValueError, match="not a complete .npz archive"):
        fastmade.load(path)


def test_a_corrupted_member_is_refused(good_file, tmp_path):
    path = tmp_path / "corrupt.npz"
    content = bytearray(good_file.read_bytes())
    start = content.index(b"weight_0.npy") + 200
    content[start : start + 16] = b"\xff" * 16
    path.write_bytes(bytes(content))

    with pytest.raises(ValueError, match="is damaged and cannot be read"):
        fastmade.load(path)


def test_another_kind_of_file_is_refused(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("0,1\n1,0\n")
    with pytest.raises(ValueError, match="not a complete .npz archive"):
        fastmade.load(path)


def test_a_plain_npy_file_is_refused(tmp_path):
    path = tmp_path / "data.npy"
    np.save(path, X)
    with pytest.raises(ValueError, match="not a complete .npz archive"):
        fastmade.load(path)


def test_an_npz_of_other_arrays_is_refused(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, X=X)
    with pytest.raises(ValueError, match="lacks 'format_version'"):
        fastmade.load(path)


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastmade.load(tmp_path / "nothing.npz")
