"""The ``fastmade`` command line: demo, fit, score and sample.

``fit`` reads a table (0/1 values unless told otherwise) and writes a model
file, ``score`` streams a table through a model file and writes one
log-likelihood per row, ``sample`` draws rows from a model file. Tables are CSV
(optional header) or ``.npy`` files, see ``fastmade._data_files``. Output files
are written beside their target and renamed at the end, so a failed command
leaves none behind.

Errors the user can fix (a missing or malformed file, a wrong number of
columns, values other than 0 and 1 for a binary model, a bad model file) print
one line on standard error and exit with status 1; bad arguments exit with
status 2.
"""

import argparse
import contextlib
import csv
import os
import sys
import warnings

import numpy as np

from ._atomic import atomic_output, check_output_path
from ._data_files import open_table
from ._estimator import MADEEstimator
from ._model_files import load, save
from ._outlier import MADEOutlierDetector, outlier_labels
from ._progress import EpochProgress


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors take one line."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_ints(text):
    """``"500"`` or ``"500,200"`` as a list of positive integers."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive integers such as 500 or 500,200, got {text!r}"
        )
    return sizes


def _ordering(text):
    """``natural``, ``random`` or a comma list of column indices."""
    if text in ("natural", "random"):
        return text
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected natural, random or column indices such as 2,0,1, got {text!r}"
        ) from None


def _count(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a count of 0 or more, got {text}")
    return value


def _demo(args):
    from ._demo import run_demo

    run_demo(random_state=args.seed)
    return 0


def _estimator_params(args):
    """The estimator parameters the user set; the others keep their defaults."""
    names = {
        "activation": "activation",
        "max_iter": "max_iter",
        "n_masks": "n_masks",
        "ordering": "ordering",
        "hidden_degrees": "hidden_degrees",
        "distribution": "distribution",
        "n_components": "n_components",
        "learning_rate": "learning_rate_init",
        "alpha": "alpha",
        "random_state": "random_state",
        "contamination": "contamination",
    }
    params = {
        param: getattr(args, option)
        for option, param in names.items()
        if getattr(args, option) is not None
    }
    if args.hidden is not None:
        params["hidden_layer_sizes"] = tuple(
            size for sizes in args.hidden for size in sizes
        )
    if args.no_early_stopping:
        params["early_stopping"] = False
    return params


def _fit(args):
    if args.contamination is not None and not args.detector:
        raise ValueError("--contamination sets the outlier threshold; add --detector.")
    # Refuse an output that could not be written before training, not after.
    check_output_path(args.output)
    table = open_table(args.data, binary=args.distribution == "bernoulli")
    X = table.read_all()
    cls = MADEOutlierDetector if args.detector else MADEEstimator
    model = cls(**_estimator_params(args), verbose=0 if args.quiet else 1)

    progress = EpochProgress(model.max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(progress), _in_option_terms():
            model.fit(X)
    for warning in caught:
        _say("fit", f"warning: {warning.message}")

    # Progress was for this run; the saved model stays quiet when refitted.
    model.set_params(verbose=0)
    if table.header is not None and len(set(table.header)) == len(table.header):
        model.feature_names_in_ = np.asarray(table.header, dtype=object)
    save(model, args.output)
    return 0


# Advice in the Python API's terms, and what to say on the command line.
_OPTION_TERMS = {
    "with early_stopping=True": "with early stopping (the default)",
    "set early_stopping=False": "pass --no-early-stopping",
    "learning_rate_init": "--learning-rate",
    "raise alpha": "raise --alpha",
}


@contextlib.contextmanager
def _in_option_terms():
    """Reword a ValueError's advice to name command-line options."""
    try:
        yield
    except ValueError as error:
        message = str(error)
        for api, option in _OPTION_TERMS.items():
            message = message.replace(api, option)
        if message == str(error):
            raise
        raise ValueError(message) from error


def _check_columns(table, model, model_path):
    """Refuse a table whose columns the model was not fitted on."""
    if table.n_columns != model.n_features_in_:
        raise ValueError(
            f"{table.path} has {table.n_columns} columns, but the model in "
            f"{model_path} was fitted on {model.n_features_in_}."
        )
    names = getattr(model, "feature_names_in_", None)
    if table.header is None or names is None:
        return
    for column, (got, expected) in enumerate(zip(table.header, names), start=1):
        # Header fields are read stripped of surrounding spaces.
        if got != str(expected).strip():
            raise ValueError(
                f"{table.path}, column {column}: the header says {got!r}, but the "
                f"model in {model_path} has {expected!r} there."
            )


@contextlib.contextmanager
def _output(path, mode="w"):
    """An atomic output file, or standard output when ``path`` is None."""
    if path is None:
        yield sys.stdout.buffer if "b" in mode else sys.stdout
        return
    kwargs = {} if "b" in mode else {"newline": ""}
    with atomic_output(path, mode, **kwargs) as handle:
        yield handle


def _score(args):
    model = load(args.model)
    if args.output is not None:
        check_output_path(args.output)
    table = open_table(args.data, binary=model.distribution_ == "bernoulli")
    _check_columns(table, model, args.model)
    detector = isinstance(model, MADEOutlierDetector)

    with _output(args.output) as out, warnings.catch_warnings():
        # The columns were checked above, by name where the table has names.
        warnings.filterwarnings("ignore", message="X does not have valid feature")
        out.write("log_likelihood,label\n" if detector else "log_likelihood\n")
        for _, values in table.chunks():
            scores = model.score_samples(values)
            if detector:
                labels = outlier_labels(scores - model.offset_)
                rows = np.column_stack([scores, labels])
                np.savetxt(out, rows, fmt=["%.10g", "%d"], delimiter=",")
            else:
                np.savetxt(out, scores, fmt="%.10g")
    return 0


def _sample(args):
    model = load(args.model)
    if args.output is not None:
        check_output_path(args.output)
    try:
        samples = model.sample(args.n_samples, random_state=args.random_state)
    except MemoryError:
        gib = args.n_samples * model.n_features_in_ * 8 / 2**30
        raise MemoryError(
            f"{args.n_samples} rows of {model.n_features_in_} columns need about "
            f"{gib:.3g} GiB"
        ) from None
    binary = model.distribution_ == "bernoulli"
    if binary:
        samples = samples.astype(np.uint8)

    if args.output is not None and args.output.lower().endswith(".npy"):
        with _output(args.output, "wb") as out:
            np.save(out, samples)
        return 0
    names = getattr(model, "feature_names_in_", None)
    with _output(args.output) as out:
        if names is not None:
            # Quoted as needed, so names with commas or line breaks read back.
            csv.writer(out, lineterminator="\n").writerow(names)
        np.savetxt(out, samples, fmt="%d" if binary else "%.10g", delimiter=",")
    return 0


def _add_model_argument(parser):
    parser.add_argument("model", metavar="MODEL", help="model file from fastmade fit")


def _add_data_argument(parser):
    parser.add_argument("data", metavar="DATA", help="CSV (optional header) or .npy")


def _add_fit(commands):
    fit = commands.add_parser(
        "fit",
        help="fit MADE on a table and write a model file",
        description="Fit MADE on DATA (CSV or .npy; 0/1 values unless "
        "--distribution says otherwise) and write a "
        "model file. Progress goes to standard error.",
    )
    _add_data_argument(fit)
    fit.add_argument("-o", "--output", required=True, help="model file to write")
    fit.add_argument(
        "--hidden",
        type=_positive_ints,
        action="append",
        help="hidden layer sizes: repeat it or give a comma list (default 500)",
    )
    fit.add_argument("--activation", choices=["relu", "tanh", "sigmoid"])
    fit.add_argument("--max-iter", type=int, help="most epochs (default 200)")
    fit.add_argument("--n-masks", type=int, help="mask ensemble size (default 1)")
    fit.add_argument(
        "--ordering",
        type=_ordering,
        help="natural (default), random, or column indices such as 2,0,1",
    )
    fit.add_argument("--hidden-degrees", choices=["random", "equal"])
    fit.add_argument(
        "--distribution",
        choices=["bernoulli", "gaussian", "mixture", "auto"],
        default="bernoulli",
        help="conditional of each column: bernoulli (default) for 0/1 data, "
        "gaussian or mixture for real values, auto to pick from the data",
    )
    fit.add_argument(
        "--n-components", type=int, help="Gaussians per column of a mixture (3)"
    )
    fit.add_argument("--learning-rate", type=float, help="Adam step (default 1e-3)")
    fit.add_argument("--alpha", type=float, help="L2 penalty (default 1e-4)")
    fit.add_argument(
        "--no-early-stopping",
        action="store_true",
        help="train for --max-iter epochs without holding rows out",
    )
    fit.add_argument("--random-state", type=int, help="seed of every random choice")
    fit.add_argument(
        "--detector",
        action="store_true",
        help="fit an outlier detector: scores then come with +1/-1 labels",
    )
    fit.add_argument(
        "--contamination",
        type=float,
        help="with --detector, the share of training rows called outliers "
        "(default 0.1)",
    )
    fit.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    fit.set_defaults(run=_fit)


def _add_score(commands):
    score = commands.add_parser(
        "score",
        help="write the log-likelihood of every row of a table",
        description="Score DATA with a model file: one log-likelihood (nats) per "
        "row, in input order, and for a detector its +1/-1 label. DATA is read "
        "in chunks, so it may be larger than memory.",
    )
    _add_model_argument(score)
    _add_data_argument(score)
    score.add_argument("-o", "--output", help="CSV to write (default: standard output)")
    score.set_defaults(run=_score)


def _add_sample(commands):
    sample = commands.add_parser(
        "sample",
        help="draw rows from a model file",
        description="Draw N rows from a model file, as CSV (or "
        ".npy when the output name ends in .npy).",
    )
    _add_model_argument(sample)
    sample.add_argument(
        "-n", "--n-samples", type=_count, required=True, help="rows to draw"
    )
    sample.add_argument("-o", "--output", help="CSV or .npy (default: standard output)")
    sample.add_argument("--random-state", type=int, help="seed: same seed, same rows")
    sample.set_defaults(run=_sample)


def build_parser():
    """The argument parser of the ``fastmade`` command."""
    parser = _Parser(
        prog="fastmade", description="MADE density estimation from the shell."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="fit MADE on the binarised digits and print what it learnt"
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(run=_demo)
    _add_fit(commands)
    _add_score(commands)
    _add_sample(commands)
    return parser


def _say(command, message):
    print(f"fastmade {command}: {message}", file=sys.stderr)


# What to do when a command runs out of memory.
_LESS_MEMORY = {
    "demo": "close other programs and run it again",
    "fit": "fit on fewer rows, or with smaller --hidden layers",
    "score": "score the file in smaller pieces",
    "sample": "ask for a smaller -n, or draw the rows in chunks: several runs "
    "with different --random-state",
}


def _describe(error):
    """One line for an error the user can act on."""
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.filename}: {error.strerror or error}"
    else:
        text = str(error)
    return " ".join(text.split())


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader of standard output (head, less) has gone: stop quietly,
        # and keep the interpreter from complaining when it flushes at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, OSError) as error:
        _say(args.command, f"error: {_describe(error)}")
        return 1
    except MemoryError as error:
        asked = f": {_describe(error)}" if str(error) else ""
        _say(args.command, f"error: out of memory{asked}; {_LESS_MEMORY[args.command]}")
        return 1
    except KeyboardInterrupt:
        _say(args.command, "interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
