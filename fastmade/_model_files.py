"""Model files: a fitted estimator as a ``.npz`` archive of plain arrays.

:func:`save` writes and :func:`load` reads a fitted :class:`MADEEstimator` or
:class:`MADEOutlierDetector`. Unlike a pickle, a model file holds no code:
it is written with ``allow_pickle=False``, and reading refuses any member whose
header declares Python objects before its data is touched, so opening a file
from someone else cannot run anything. Pickle and joblib keep working as well.

Layout, format version 1. Every member is a ``.npy`` array; "text" is a 0-d
unicode array. K is ``n_masks``, D ``n_features_in_``, L the number of hidden
layers, H_l their sizes and P the conditional's parameters per input (1 for
Bernoulli, 2 for Gaussian, 3 per component for a mixture).

======================  =================  ====================================
member                  dtype, shape       content
======================  =================  ====================================
format_version          int64, ()          1; readers refuse newer versions
fastmade_version        text               the version that wrote the file
class_name              text               ``MADEEstimator`` or
                                           ``MADEOutlierDetector``
params                  text               ``get_params()`` as a JSON object;
                                           JSON arrays read back as tuples, a
                                           RandomState instance is kept as null
network                 text               JSON object describing the arrays
                                           below: layer_sizes, n_masks,
                                           direct_connections, dtype,
                                           activation, distribution
                                           (bernoulli, gaussian or mixture)
                                           and n_components (of a mixture)
fit_architecture        text               JSON array: what warm_start compares
                                           with the parameters of the next fit
n_features_in           int64, ()          D
feature_names_in        unicode, (D,)      only when fitted on named columns
orderings               int64, (K, D)      generation order of every member
hidden_degrees_{l}      int64, (K, H_l)    degrees of layer l, l = 0..L-1
weight_{i}              float, see right   the network's weights: i < L are
                                           the hidden layers (D, H_1),
                                           (H_1, H_2)...; i = L the output
                                           (H_L, D*P); i = L+1 the direct
                                           connections (D, D*P), if any
bias_{i}                float, (H_i,)      biases, i = 0..L (the last is the
                                           output's, D*P long)
shift, scale            float64, (D,)      standardisation of real-valued
                                           data, in canonical order; absent
                                           for Bernoulli models
n_iter                  int64, ()          epochs of the last fit
loss_curve              float64, (n,)      training NLL per epoch
validation_scores       float64, (n,)      only with early stopping
best_validation_score   float64, ()        only with early stopping
offset                  float64, ()        ``offset_``, detectors only
======================  =================  ====================================

Weights are in the network's storage order (inputs in the first member's
generation order), in the dtype it was fitted with; the masks are not stored
because the degrees define them.
"""

import json
import math
import os
import zipfile
import zlib

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._atomic import atomic_output
from ._conditionals import DISTRIBUTIONS, make_conditional
from ._estimator import MADEEstimator
from ._made import MADENetwork
from ._network import ACTIVATIONS
from ._outlier import MADEOutlierDetector
from ._training import TrainingHistory

FORMAT_VERSION = 1
MODEL_CLASSES = {cls.__name__: cls for cls in (MADEEstimator, MADEOutlierDetector)}


class ModelFileError(ValueError):
    """A file that is not a readable fastmade model file."""


def save(model, path):
    """Write a fitted estimator to a model file.

    The file appears whole or not at all: it is written beside ``path`` and
    renamed at the end, replacing any file of that name.

    Parameters
    ----------
    model : MADEEstimator or MADEOutlierDetector
        A fitted estimator (not a subclass: :func:`load` must rebuild it).
    path : str or os.PathLike
        Where to write. The name is used as given; ``.npz`` is not appended.

    Raises
    ------
    TypeError
        If ``model`` is of another class, or a parameter holds an object that
        JSON cannot hold.
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import fastmade
    >>> X = (np.random.RandomState(0).rand(100, 5) < 0.3).astype(float)
    >>> est = fastmade.MADEEstimator(hidden_layer_sizes=(8,), random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.npz")
    ...     fastmade.save(est, path)
    ...     loaded = fastmade.load(path)
    >>> bool(np.array_equal(loaded.score_samples(X), est.score_samples(X)))
    True
    """
    name = type(model).__name__
    if MODEL_CLASSES.get(name) is not type(model):
        raise TypeError(
            f"save writes {' and '.join(MODEL_CLASSES)} models, got {name}; "
            "pickle or joblib store other objects."
        )
    check_is_fitted(model)
    arrays = _model_arrays(model)
    with atomic_output(path) as handle:
        np.savez(handle, allow_pickle=False, **arrays)


def load(path):
    """Read a model file written by :func:`save`.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    model : MADEEstimator or MADEOutlierDetector
        The fitted estimator, scoring and sampling as the saved one did.

    Raises
    ------
    ValueError
        If the file is not a complete model file, comes from a newer format,
        holds Python objects, names an unknown class or parameter, holds
        arrays that do not fit the model it describes (or more data than the
        file can hold), or holds a member the model it describes does not
        have. The message names the file and what is wrong.
    """
    reader = _Reader(path, _read_members(path))

    version = reader.integer("format_version")
    writer = reader.text("fastmade_version")
    if version > FORMAT_VERSION:
        reader.fail(
            f"was written by fastmade {writer} in model-file format {version}, "
            f"but this fastmade reads format {FORMAT_VERSION} and older; "
            "upgrade fastmade to load it"
        )
    class_name = reader.text("class_name")
    if class_name not in MODEL_CLASSES:
        reader.fail(
            f"holds a {class_name!r}, which is not a model class fastmade knows "
            f"({', '.join(MODEL_CLASSES)})"
        )

    model = MODEL_CLASSES[class_name]()
    _set_params(reader, model, writer)
    n_features = reader.integer("n_features_in", low=1)
    network = _read_network(reader, n_features, model.masked_product)
    feature_names = None
    if reader.has("feature_names_in"):
        names = reader.array("feature_names_in", (n_features,), "U")
        feature_names = np.asarray(names.tolist(), dtype=object)

    history = TrainingHistory(
        loss_curve=reader.floats("loss_curve").tolist(),
        n_iter=reader.integer("n_iter", low=0),
    )
    architecture = reader.json("fit_architecture")
    if not isinstance(architecture, tuple):
        reader.fail("holds a 'fit_architecture' that is not a JSON array")
    model._set_fitted(network, history, n_features, feature_names, architecture)
    # Restore the record as saved, whatever early_stopping says now.
    if reader.has("validation_scores"):
        model.validation_scores_ = reader.floats("validation_scores").tolist()
        model.best_validation_score_ = reader.number("best_validation_score")
    else:
        model.validation_scores_ = None
        model.best_validation_score_ = None
    if isinstance(model, MADEOutlierDetector):
        model.offset_ = reader.number("offset")
    # Whatever is left over (direct weights of a network without direct
    # connections, say) means the description and the arrays disagree.
    reader.refuse_unread()
    return model


def _json_value(value):
    """JSON form of the NumPy values that get_params may hold."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.random.RandomState, np.random.Generator)):
        return None
    raise TypeError(f"{value!r} cannot be stored in a model file")


def _text(value):
    """A 0-d unicode array holding ``value`` as JSON."""
    return np.array(json.dumps(value, default=_json_value))


def _as_tuples(value):
    """JSON arrays back as tuples, the way the estimators take sequences."""
    if isinstance(value, list):
        return tuple(_as_tuples(item) for item in value)
    if isinstance(value, dict):
        return {key: _as_tuples(item) for key, item in value.items()}
    return value


def _model_arrays(model):
    """Every member of the model file of a fitted ``model``, by name."""
    from . import __version__

    network = model._network
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "fastmade_version": np.array(__version__),
        "class_name": np.array(type(model).__name__),
        "params": _text(model.get_params()),
        "network": _text(_describe(network)),
        "fit_architecture": _text(model._fit_architecture),
        "n_features_in": np.array(model.n_features_in_, dtype=np.int64),
        "orderings": network.orderings.astype(np.int64),
        "n_iter": np.array(model.n_iter_, dtype=np.int64),
        "loss_curve": np.asarray(model.loss_curve_, dtype=np.float64),
    }
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names_in"] = np.asarray(model.feature_names_in_, dtype=str)
    for layer in range(len(network.biases) - 1):
        arrays[f"hidden_degrees_{layer}"] = np.stack(
            [member[layer] for member in network.hidden_degrees]
        ).astype(np.int64)
    for i, weight in enumerate(network.weights):
        arrays[f"weight_{i}"] = weight
    for i, bias in enumerate(network.biases):
        arrays[f"bias_{i}"] = bias
    if network.scale is not None:
        arrays["shift"] = np.asarray(network.shift, dtype=np.float64)
        arrays["scale"] = np.asarray(network.scale, dtype=np.float64)
    if model.validation_scores_ is not None:
        arrays["validation_scores"] = np.asarray(
            model.validation_scores_, dtype=np.float64
        )
        arrays["best_validation_score"] = np.array(
            model.best_validation_score_, dtype=np.float64
        )
    if isinstance(model, MADEOutlierDetector):
        arrays["offset"] = np.array(model.offset_, dtype=np.float64)
    return arrays


def _describe(network):
    """The ``network`` member: what the arrays of ``network`` must look like."""
    return {
        "layer_sizes": [len(layer) for layer in network.hidden_degrees[0]],
        "n_masks": network.n_masks,
        "direct_connections": len(network.weights) > len(network.biases),
        "dtype": network.dtype.name,
        "activation": network.activation,
        "distribution": network.conditional.name,
        "n_components": getattr(network.conditional, "n_components", None),
    }


def _read_members(path):
    """Every ``.npy`` member of the archive, refusing object arrays unread."""
    name = os.fspath(path)
    if not zipfile.is_zipfile(name):
        if not os.path.isfile(name):
            # Let open() raise the usual FileNotFoundError or IsADirectoryError.
            open(name, "rb").close()
        raise ModelFileError(
            f"Model file {name} is not a complete .npz archive: it may be "
            "truncated, or another kind of file."
        )
    arrays = {}
    try:
        with zipfile.ZipFile(name) as archive:
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                if key == info.filename:
                    raise ModelFileError(
                        f"Model file {name} holds {info.filename!r}, which is "
                        "not a .npy array; it is not a fastmade model file."
                    )
                with archive.open(info) as member:
                    shape, dtype = _header(member)
                    if dtype.hasobject:
                        raise ModelFileError(
                            f"Model file {name} holds Python objects in {key!r}, "
                            "which only a pickle can read; fastmade model files "
                            "hold plain arrays, so it was not opened. Load only "
                            "files written by fastmade.save."
                        )
                    # A header can declare any shape: allocating it unchecked
                    # would exhaust memory before the data turns out missing.
                    declared = math.prod(shape) * dtype.itemsize
                    if declared > min(info.file_size, _most_bytes(info, name)):
                        raise ModelFileError(
                            f"Model file {name} declares {key!r} of shape {shape} "
                            f"({declared} bytes), more than the file holds; it is "
                            "damaged or not a fastmade model file."
                        )
                with archive.open(info) as member:
                    arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, zlib.error, ValueError, OSError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(
            f"Model file {name} is damaged and cannot be read ({error})."
        ) from None
    return arrays


def _header(member):
    """The shape and dtype a ``.npy`` header declares, read without the data."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    return shape, dtype


def _most_bytes(info, path):
    """The most bytes a zip member can unpack to, given the file's real size."""
    stored = min(info.compress_size, os.path.getsize(path))
    # Deflate expands at most about 1032 to 1; a stored member not at all.
    return stored if info.compress_type == zipfile.ZIP_STORED else 1032 * stored


class _Reader:
    """Typed access to the members of one model file, failing with its name."""

    def __init__(self, path, arrays):
        self.path = os.fspath(path)
        self.arrays = arrays
        self.read = set()

    def fail(self, message):
        raise ModelFileError(f"Model file {self.path} {message}.")

    def has(self, key):
        return key in self.arrays

    def get(self, key):
        if key not in self.arrays:
            self.fail(f"lacks {key!r}; it is damaged or not a fastmade model file")
        self.read.add(key)
        return self.arrays[key]

    def refuse_unread(self):
        """Fail on a member the model read so far has no place for."""
        unread = sorted(set(self.arrays) - self.read)
        if unread:
            self.fail(
                f"holds {unread[0]!r}, which the model it describes does not have; "
                "it is inconsistent or not a fastmade model file"
            )

    def array(self, key, shape, kinds):
        """The array ``key``, checked for its shape and dtype kind."""
        value = self.get(key)
        if value.shape != tuple(shape):
            self.fail(
                f"holds {key!r} of shape {value.shape}, but the model it "
                f"describes needs {tuple(shape)}"
            )
        if value.dtype.kind not in kinds:
            self.fail(f"holds {key!r} of dtype {value.dtype}, which does not fit")
        # The compiled kernels want C order; np.save may have written Fortran.
        return value if value.flags.c_contiguous else value.copy(order="C")

    def integer(self, key, low=None):
        value = int(self.array(key, (), "iu"))
        if low is not None and value < low:
            self.fail(f"holds {key}={value}, below its least value {low}")
        return value

    def number(self, key):
        return float(self.array(key, (), "f"))

    def floats(self, key):
        value = self.get(key)
        if value.ndim != 1 or value.dtype.kind != "f":
            self.fail(f"holds {key!r} as {value.dtype} {value.shape}, not 1-d floats")
        return value

    def text(self, key):
        return str(self.array(key, (), "U"))

    def json(self, key):
        try:
            return _as_tuples(json.loads(self.text(key)))
        except json.JSONDecodeError as error:
            self.fail(f"holds {key!r} that is not valid JSON ({error})")


def _set_params(reader, model, writer):
    """Give ``model`` the saved parameters, refusing unknown or invalid ones."""
    params = reader.json("params")
    if not isinstance(params, dict):
        reader.fail("holds 'params' that is not a JSON object")
    unknown = sorted(set(params) - set(model.get_params()))
    if unknown:
        reader.fail(
            f"sets {', '.join(unknown)}, which {type(model).__name__} does not "
            f"have here; it was written by fastmade {writer}, so upgrade "
            "fastmade to load it"
        )
    model.set_params(**params)
    try:
        model._validate_params()
    except ValueError as error:
        reader.fail(f"holds an invalid parameter: {error}")


def _read_description(reader):
    """The ``network`` member, checked field by field."""
    description = reader.json("network")
    fields = (
        "layer_sizes",
        "n_masks",
        "direct_connections",
        "dtype",
        "activation",
        "distribution",
        "n_components",
    )
    if not isinstance(description, dict) or set(description) != set(fields):
        reader.fail(f"holds a 'network' member without the fields {fields}")

    def positive_int(value):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    sizes = description["layer_sizes"]
    mixture = description["distribution"] == "mixture"
    valid = (
        isinstance(sizes, tuple)
        and len(sizes) >= 1
        and all(positive_int(size) for size in sizes)
        and positive_int(description["n_masks"])
        and isinstance(description["direct_connections"], bool)
        and description["dtype"] in ("float32", "float64")
        and description["activation"] in ACTIVATIONS
        and description["distribution"] in DISTRIBUTIONS
        and (positive_int(description["n_components"]) or not mixture)
    )
    if not valid:
        reader.fail(f"holds a 'network' member that describes no MADE: {description}")
    return description


def _read_network(reader, n_features, masked_product):
    """Rebuild the MADENetwork, checking every array against its description."""
    description = _read_description(reader)
    n_masks = description["n_masks"]
    layer_sizes = description["layer_sizes"]
    dtype = np.dtype(description["dtype"])
    conditional = make_conditional(
        description["distribution"], description["n_components"] or 1
    )

    orderings = reader.array("orderings", (n_masks, n_features), "iu").astype(np.intp)
    if not (np.sort(orderings, axis=1) == np.arange(n_features)).all():
        reader.fail(
            f"holds 'orderings' that are not permutations of 0..{n_features - 1}"
        )

    highest = max(n_features - 1, 1)
    per_layer = []
    for layer, size in enumerate(layer_sizes):
        degrees = reader.array(f"hidden_degrees_{layer}", (n_masks, size), "iu")
        if degrees.min() < 1 or degrees.max() > highest:
            reader.fail(f"holds hidden degrees outside 1..{highest} in layer {layer}")
        per_layer.append(degrees.astype(np.intp))
    hidden = [[degrees[member] for degrees in per_layer] for member in range(n_masks)]

    n_outputs = n_features * conditional.n_params
    sizes = [n_features, *layer_sizes, n_outputs]
    shapes = list(zip(sizes[:-1], sizes[1:]))
    if description["direct_connections"]:
        shapes.append((n_features, n_outputs))
    weights = [
        _parameter(reader, f"weight_{i}", shape, dtype)
        for i, shape in enumerate(shapes)
    ]
    biases = [
        _parameter(reader, f"bias_{i}", (size,), dtype)
        for i, size in enumerate(sizes[1:])
    ]

    shift = scale = None
    if not conditional.binary:
        float64 = np.dtype(np.float64)
        shift = _parameter(reader, "shift", (n_features,), float64)
        scale = _parameter(reader, "scale", (n_features,), float64)
        if not (scale > 0).all():
            reader.fail("holds a 'scale' that is not positive")
    return MADENetwork(
        weights,
        biases,
        orderings,
        hidden,
        description["activation"],
        conditional,
        masked_product=masked_product,
        shift=shift,
        scale=scale,
    )


def _parameter(reader, key, shape, dtype):
    """A weight or bias of the given shape and exact dtype, all finite."""
    value = reader.array(key, shape, "f")
    if value.dtype != dtype:
        reader.fail(f"holds {key!r} as {value.dtype}, but the model is {dtype}")
    if not np.isfinite(value).all():
        reader.fail(f"holds non-finite values in {key!r}")
    return value
