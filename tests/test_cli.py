"""The command line fits, scores and samples files, and fails in one clear line."""

import csv
import io
import os
import subprocess
import sys

import numpy as np
import pytest
import sklearn
from conftest import correlated_binary

import fastmade
from fastmade import MADEEstimator
from fastmade._data_files import CsvTable, NpyTable, open_table
from fastmade._progress import EpochProgress, format_duration
from fastmade.cli import main

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:X does not have valid feature names"),
]

X = correlated_binary(200, 6, seed=0)
HEADER = [f"c{i}" for i in range(6)]
FIT = ["--hidden", "16", "--max-iter", "8", "--random-state", "0", "--quiet"]


def write_csv(path, X, header=None):
    lines = [",".join(header)] if header is not None else []
    lines += [",".join(str(int(v)) for v in row) for row in X]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_scores(path_or_text):
    text = path_or_text
    if hasattr(path_or_text, "read_text"):
        text = path_or_text.read_text()
    lines = text.strip().splitlines()
    return lines[0], np.loadtxt(lines[1:], delimiter=",", ndmin=2)


def run(capsys, *argv):
    """Run ``fastmade argv`` in process; return (status, stdout, stderr)."""
    status = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def data_csv(tmp_path):
    return write_csv(tmp_path / "data.csv", X, HEADER)


@pytest.fixture
def model_file(tmp_path, data_csv, capsys):
    path = tmp_path / "model.npz"
    assert run(capsys, "fit", data_csv, "-o", path, *FIT)[0] == 0
    return path


# Fitting


def test_fit_writes_the_model_python_would_fit(model_file):
    model = fastmade.load(model_file)
    expected = MADEEstimator(hidden_layer_sizes=(16,), max_iter=8, random_state=0)
    expected.fit(X)

    np.testing.assert_array_equal(model.score_samples(X), expected.score_samples(X))
    assert list(model.feature_names_in_) == HEADER
    assert model.verbose == 0


@pytest.mark.parametrize("kind", ["csv without header", "npy"])
def test_every_kind_of_file_fits_the_same_model(tmp_path, model_file, capsys, kind):
    if kind == "npy":
        data = tmp_path / "data.npy"
        np.save(data, X.astype(np.uint8))
    else:
        data = write_csv(tmp_path / "plain.csv", X)
    path = tmp_path / "other.npz"

    assert run(capsys, "fit", data, "-o", path, *FIT)[0] == 0

    np.testing.assert_array_equal(
        fastmade.load(path).score_samples(X),
        fastmade.load(model_file).score_samples(X),
    )
    assert not hasattr(fastmade.load(path), "feature_names_in_")


@pytest.mark.parametrize(
    "options, params",
    [
        (["--hidden", "12", "--hidden", "8"], dict(hidden_layer_sizes=(12, 8))),
        (["--hidden", "12,8"], dict(hidden_layer_sizes=(12, 8))),
        (["--ordering", "2,0,1,3,5,4"], dict(ordering=(2, 0, 1, 3, 5, 4))),
        (
            ["--ordering", "random", "--n-masks", "2"],
            dict(ordering="random", n_masks=2),
        ),
        (
            ["--hidden-degrees", "equal", "--activation", "tanh"],
            dict(hidden_degrees="equal", activation="tanh"),
        ),
        (
            ["--learning-rate", "0.01", "--alpha", "0.5"],
            dict(learning_rate_init=0.01, alpha=0.5),
        ),
        (["--no-early-stopping"], dict(early_stopping=False)),
        (["--detector", "--contamination", "0.2"], dict(contamination=0.2)),
    ],
)
def test_fit_options_set_the_estimator_parameters(
    tmp_path, data_csv, capsys, options, params
):
    path = tmp_path / "model.npz"
    argv = ["fit", data_csv, "-o", path, "--max-iter", "2", "-q", *options]
    assert run(capsys, *argv)[0] == 0

    got = fastmade.load(path).get_params()
    assert {name: got[name] for name in params} == params


def test_fit_reports_progress_on_standard_error(tmp_path, data_csv, capsys):
    argv = [
        "fit",
        data_csv,
        "-o",
        tmp_path / "m.npz",
        "--hidden",
        "8",
        "--max-iter",
        "3",
        "--random-state",
        "0",
    ]
    status, out, err = run(capsys, *argv)

    assert status == 0 and out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("epoch 1/3, train NLL ")
    assert ", valid NLL " in lines[0] and lines[0].endswith(" left")
    assert lines[2].startswith("epoch 3/3") and lines[2].endswith("at most 0 s left")
    assert lines[-1].startswith("fastmade fit: warning: MADEEstimator stopped")


def test_quiet_fit_prints_nothing_but_warnings(tmp_path, data_csv, capsys):
    argv = [
        "fit",
        data_csv,
        "-o",
        tmp_path / "m.npz",
        "--hidden",
        "8",
        "--max-iter",
        "3",
        "-q",
    ]
    status, out, err = run(capsys, *argv)

    assert status == 0 and out == ""
    assert err == (
        "fastmade fit: warning: MADEEstimator stopped after max_iter=3 epochs "
        "before converging; raise max_iter for a better fit.\n"
    )


# Scoring


def test_score_writes_one_log_likelihood_per_row_in_order(
    tmp_path, model_file, data_csv, capsys
):
    out = tmp_path / "scores.csv"
    status, stdout, stderr = run(capsys, "score", model_file, data_csv, "-o", out)

    header, scores = read_scores(out)
    assert (status, stdout, stderr) == (0, "", "")
    assert header == "log_likelihood"
    assert scores.shape == (200, 1)
    expected = fastmade.load(model_file).score_samples(X)
    np.testing.assert_allclose(scores[:, 0], expected, rtol=1e-9)


def test_score_without_output_writes_to_standard_output(
    tmp_path, model_file, data_csv, capsys
):
    run(capsys, "score", model_file, data_csv, "-o", tmp_path / "scores.csv")
    status, stdout, _ = run(capsys, "score", model_file, data_csv)

    assert status == 0
    assert stdout == (tmp_path / "scores.csv").read_text()


def test_score_reads_csv_and_npy_alike(tmp_path, model_file, data_csv, capsys):
    npy = tmp_path / "data.npy"
    np.save(npy, X)
    plain = write_csv(tmp_path / "plain.csv", X)

    outputs = [
        run(capsys, "score", model_file, data)[1] for data in (data_csv, npy, plain)
    ]

    assert outputs[0] == outputs[1] == outputs[2]


def test_score_streams_the_input_in_chunks(tmp_path, model_file, data_csv, capsys):
    npy = tmp_path / "data.npy"
    np.save(npy, X)
    whole = run(capsys, "score", model_file, data_csv)[1]

    # A working memory of a few rows forces dozens of chunks.
    with sklearn.config_context(working_memory=0.001):
        assert len(list(open_table(data_csv).chunks())) > 5
        assert len(list(open_table(npy).chunks())) > 5
        chunked_csv = run(capsys, "score", model_file, data_csv)[1]
        chunked_npy = run(capsys, "score", model_file, npy)[1]

    assert chunked_csv == chunked_npy == whole


def test_npy_files_are_memory_mapped(tmp_path):
    np.save(tmp_path / "data.npy", X)
    assert isinstance(NpyTable(str(tmp_path / "data.npy")).array, np.memmap)


def test_a_detector_scores_with_labels(tmp_path, data_csv, capsys):
    model_path = tmp_path / "detector.npz"
    run(
        capsys,
        "fit",
        data_csv,
        "-o",
        model_path,
        "--detector",
        "--contamination",
        "0.2",
        *FIT,
    )
    status, stdout, _ = run(capsys, "score", model_path, data_csv)

    header, rows = read_scores(stdout)
    detector = fastmade.load(model_path)
    assert status == 0 and header == "log_likelihood,label"
    np.testing.assert_allclose(rows[:, 0], detector.score_samples(X), rtol=1e-9)
    np.testing.assert_array_equal(rows[:, 1], detector.predict(X))
    assert set(rows[:, 1]) == {-1, 1}


def test_real_valued_data_with_a_gaussian_distribution(tmp_path, capsys):
    X_real = X + np.random.RandomState(0).normal(scale=0.3, size=X.shape)
    data = tmp_path / "real.csv"
    np.savetxt(data, X_real, delimiter=",", fmt="%.17g")
    model_path = tmp_path / "gaussian.npz"

    argv = ["fit", data, "-o", model_path, "--distribution", "gaussian", *FIT]
    assert run(capsys, *argv)[0] == 0
    _, scores = read_scores(run(capsys, "score", model_path, data)[1])

    model = fastmade.load(model_path)
    assert model.distribution_ == "gaussian"
    np.testing.assert_allclose(scores[:, 0], model.score_samples(X_real), rtol=1e-9)


def test_real_valued_data_must_be_finite(tmp_path, capsys):
    data = write_bad_csv(tmp_path / "real.csv", 3, 4, "inf", header=None)
    argv = ["fit", data, "-o", tmp_path / "m.npz", "--distribution", "auto"]
    assert_fails_in_one_line(
        capsys, tmp_path, argv, "real.csv, line 4, column 5: 'inf' is not a finite"
    )


# Sampling


def test_sample_writes_the_rows_the_model_draws(tmp_path, model_file, capsys):
    out = tmp_path / "samples.csv"
    argv = ["sample", model_file, "-n", "50", "--random-state", "3", "-o", out]
    assert run(capsys, *argv) == (0, "", "")

    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(HEADER)
    samples = np.loadtxt(lines[1:], delimiter=",")
    expected = fastmade.load(model_file).sample(50, random_state=3)
    np.testing.assert_array_equal(samples, expected)


def test_sample_to_npy_and_to_standard_output(tmp_path, model_file, capsys):
    npy = tmp_path / "samples.npy"
    run(capsys, "sample", model_file, "-n", "20", "--random-state", "1", "-o", npy)
    stdout = run(capsys, "sample", model_file, "-n", "20", "--random-state", "1")[1]

    from_npy = np.load(npy)
    assert from_npy.dtype == np.uint8 and from_npy.shape == (20, 6)
    np.testing.assert_array_equal(
        np.loadtxt(stdout.splitlines()[1:], delimiter=","), from_npy
    )


def test_samples_can_be_fitted_again(tmp_path, model_file, capsys):
    samples = tmp_path / "samples.csv"
    run(capsys, "sample", model_file, "-n", "100", "--random-state", "0", "-o", samples)
    assert run(capsys, "fit", samples, "-o", tmp_path / "again.npz", *FIT)[0] == 0


def test_sample_quotes_feature_names_so_score_reads_them_back(tmp_path, capsys):
    names = ["weight, kg", 'say "hi"', "two\nlines", "c3", "c4", "c5"]
    data = tmp_path / "named.csv"
    with open(data, "w", newline="") as handle:
        csv.writer(handle).writerows([names, *X.astype(int).tolist()])
    model_path = tmp_path / "model.npz"
    samples = tmp_path / "samples.csv"

    assert run(capsys, "fit", data, "-o", model_path, *FIT)[0] == 0
    assert list(fastmade.load(model_path).feature_names_in_) == names
    assert run(capsys, "sample", model_path, "-n", "30", "-o", samples)[0] == 0
    with open(samples, newline="") as handle:
        assert next(csv.reader(handle)) == names
    status, _, err = run(capsys, "score", model_path, samples, "-o", tmp_path / "s.csv")
    assert status == 0, err
    assert read_scores(tmp_path / "s.csv")[1].shape == (30, 1)


def test_python_dash_m_runs_the_same_commands(tmp_path, data_csv):
    # The subprocess imports the same fastmade as this test: installed or in place.
    env = {
        **os.environ,
        "PYTHONPATH": os.path.dirname(os.path.dirname(fastmade.__file__)),
    }
    model_path = tmp_path / "model.npz"

    def fastmade_command(*argv):
        return subprocess.run(
            [sys.executable, "-m", "fastmade", *map(str, argv)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )

    fitted = fastmade_command("fit", data_csv, "-o", model_path, *FIT)
    scored = fastmade_command("score", model_path, data_csv)
    failed = fastmade_command("score", model_path, tmp_path / "missing.csv")

    assert fitted.returncode == 0, fitted.stderr
    _, scores = read_scores(scored.stdout)
    np.testing.assert_allclose(
        scores[:, 0], fastmade.load(model_path).score_samples(X), rtol=1e-9
    )
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr


# Errors: one line on standard error, a non-zero status, no output file.


def write_bad_csv(path, row, column, value, header=HEADER):
    lines = [",".join(header)] if header is not None else []
    lines += [",".join(str(int(v)) for v in x) for x in X]
    fields = lines[row].split(",")
    fields[column] = value
    lines[row] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return path


def bad_npy(path, row, column, value):
    bad = X.copy()
    bad[row, column] = value
    np.save(path, bad)
    return path


def assert_fails_in_one_line(capsys, tmp_path, argv, message, status=1):
    before = sorted(os.listdir(tmp_path))
    got_status, out, err = run(capsys, *argv)

    assert got_status == status
    assert out == ""
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert message in err, err
    assert sorted(os.listdir(tmp_path)) == before


def test_missing_data_file(tmp_path, model_file, capsys):
    missing = tmp_path / "missing.csv"
    for argv in (
        ["fit", missing, "-o", tmp_path / "m.npz"],
        ["score", model_file, missing, "-o", tmp_path / "s.csv"],
    ):
        assert_fails_in_one_line(
            capsys, tmp_path, argv, f"error: {missing}: No such file or directory"
        )


def test_missing_model_file(tmp_path, data_csv, capsys):
    missing = tmp_path / "missing.npz"
    for argv in (
        ["score", missing, data_csv, "-o", tmp_path / "s.csv"],
        ["sample", missing, "-n", "3", "-o", tmp_path / "s.csv"],
    ):
        assert_fails_in_one_line(capsys, tmp_path, argv, "No such file or directory")


@pytest.mark.parametrize("command", ["fit", "score"])
@pytest.mark.parametrize(
    "row, column, value, message",
    [
        (4, 2, "0.5", "data.csv, line 5, column 3: '0.5' is not 0 or 1"),
        (7, 0, "2", "data.csv, line 8, column 1: '2' is not 0 or 1"),
        (9, 5, "nan", "data.csv, line 10, column 6: 'nan' is not 0 or 1"),
        (3, 1, "yes", "data.csv, line 4, column 2: 'yes' is not a number"),
        (3, 1, "", "data.csv, line 4, column 2: '' is not a number"),
        (6, 5, "1,0", "data.csv, line 7: 7 columns, but the header (line 1) has 6"),
    ],
)
def test_bad_csv_values_are_named_by_line_and_column(
    tmp_path, model_file, capsys, command, row, column, value, message
):
    data = write_bad_csv(tmp_path / "data.csv", row, column, value)
    argv = (
        ["fit", data, "-o", tmp_path / "new.npz"]
        if command == "fit"
        else ["score", model_file, data, "-o", tmp_path / "scores.csv"]
    )
    assert_fails_in_one_line(capsys, tmp_path, argv, message)


def test_short_row_without_header_names_the_first_row(tmp_path, capsys):
    data = tmp_path / "plain.csv"
    data.write_text("0,1,1\n1,0,1\n1,1\n")
    assert_fails_in_one_line(
        capsys,
        tmp_path,
        ["fit", data, "-o", tmp_path / "m.npz"],
        "plain.csv, line 3: 2 columns, but the first row (line 1) has 3",
    )


@pytest.mark.parametrize("command", ["fit", "score"])
def test_bad_npy_values_are_named_by_row_and_column(
    tmp_path, model_file, capsys, command
):
    data = bad_npy(tmp_path / "data.npy", 4, 2, 2.0)
    argv = (
        ["fit", data, "-o", tmp_path / "new.npz"]
        if command == "fit"
        else ["score", model_file, data, "-o", tmp_path / "scores.csv"]
    )
    assert_fails_in_one_line(
        capsys,
        tmp_path,
        argv,
        "data.npy, row 4, column 2 (counting from 0): 2.0 is not 0 or 1",
    )


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros(6), "holds an array of shape (6,); a table needs two dimensions"),
        (np.array([["a", "b"]]), "holds <U1 values"),
        (np.array([[{}]], dtype=object), "cannot be read as a .npy array"),
        (np.zeros((0, 6)), "holds no rows"),
    ],
)
def test_npy_files_that_are_not_tables_are_refused(tmp_path, capsys, array, message):
    data = tmp_path / "data.npy"
    np.save(data, array, allow_pickle=True)
    assert_fails_in_one_line(
        capsys, tmp_path, ["fit", data, "-o", tmp_path / "m.npz"], message
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "holds no rows"),
        ("\n\n", "holds no rows"),
        ("a,b,c\n", "holds a header but no rows"),
    ],
)
def test_empty_csv_files_are_refused(tmp_path, capsys, text, message):
    data = tmp_path / "empty.csv"
    data.write_text(text)
    assert_fails_in_one_line(
        capsys, tmp_path, ["fit", data, "-o", tmp_path / "m.npz"], message
    )


def test_a_csv_that_is_not_utf8_is_named(tmp_path, capsys):
    data = tmp_path / "latin1.csv"
    data.write_bytes("café,b\n1,0\n0,1\n".encode("latin-1"))
    assert_fails_in_one_line(
        capsys,
        tmp_path,
        ["fit", data, "-o", tmp_path / "m.npz"],
        f"error: {data} is not UTF-8 text",
    )


def test_an_npy_file_that_is_text_is_not_a_valid_npy_array(tmp_path, capsys):
    data = tmp_path / "data.npy"
    data.write_text("0,1\n1,0\n")
    before = sorted(os.listdir(tmp_path))
    status, _, err = run(capsys, "fit", data, "-o", tmp_path / "m.npz")

    assert status == 1 and err.count("\n") == 1
    assert f"{data} is not a valid .npy array" in err
    assert "allow_pickle" not in err
    assert sorted(os.listdir(tmp_path)) == before


def not_trained(*args, **kwargs):
    pytest.fail("fit trained before checking its output")


@pytest.mark.parametrize("where", ["missing directory", "directory"])
@pytest.mark.parametrize("command", ["fit", "score", "sample"])
def test_an_unwritable_output_is_named_as_given_and_checked_first(
    tmp_path, model_file, data_csv, capsys, monkeypatch, command, where
):
    if where == "directory":
        output, message = tmp_path, f"error: {tmp_path}: names a directory"
    else:
        output = tmp_path / "missing_dir" / "out"
        message = f"error: {output}: its directory does not exist"
    monkeypatch.setattr(MADEEstimator, "fit", not_trained)
    monkeypatch.setattr(MADEEstimator, "sample", not_trained)
    argv = {
        "fit": ["fit", data_csv, "-o", output],
        "score": ["score", model_file, data_csv, "-o", output],
        "sample": ["sample", model_file, "-n", "5", "-o", output],
    }[command]

    assert_fails_in_one_line(capsys, tmp_path, argv, message)
    assert ".part" not in capsys.readouterr().err


def test_an_empty_output_path_is_refused(tmp_path, data_csv, capsys):
    assert_fails_in_one_line(
        capsys, tmp_path, ["fit", data_csv, "-o", ""], "output path is empty"
    )


def test_sampling_more_rows_than_memory_holds_fails_in_one_line(
    tmp_path, model_file, capsys
):
    assert_fails_in_one_line(
        capsys,
        tmp_path,
        ["sample", model_file, "-n", 10**14],
        "error: out of memory: 100000000000000 rows of 6 columns need about",
    )
    err = run(capsys, "sample", model_file, "-n", 10**14)[2]
    assert "smaller -n" in err and "in chunks" in err


def test_running_out_of_memory_while_fitting_fails_in_one_line(
    tmp_path, data_csv, capsys, monkeypatch
):
    def exhausted(*args, **kwargs):
        raise MemoryError("Unable to allocate 1.00 TiB")

    monkeypatch.setattr(MADEEstimator, "fit", exhausted)
    assert_fails_in_one_line(
        capsys,
        tmp_path,
        ["fit", data_csv, "-o", tmp_path / "m.npz"],
        "error: out of memory: Unable to allocate 1.00 TiB; fit on fewer rows",
    )


def test_a_one_row_fit_names_the_command_line_option(tmp_path, capsys):
    data = write_csv(tmp_path / "one.csv", X[:1])
    assert_fails_in_one_line(
        capsys,
        tmp_path,
        ["fit", data, "-o", tmp_path / "m.npz"],
        "pass --no-early-stopping",
    )
    with pytest.raises(ValueError, match="set early_stopping=False"):
        MADEEstimator().fit(X[:1])


def test_a_diverging_fit_fails_in_one_line(tmp_path, data_csv, capsys):
    argv = ["fit", data_csv, "-o", tmp_path / "m.npz", *FIT, "--learning-rate", "1e30"]
    assert_fails_in_one_line(capsys, tmp_path, argv, "error: training diverged")


def test_wrong_column_count_for_the_model(tmp_path, model_file, capsys):
    data = write_csv(tmp_path / "narrow.csv", X[:, :5])
    assert_fails_in_one_line(
        capsys,
        tmp_path,
        ["score", model_file, data, "-o", tmp_path / "s.csv"],
        f"narrow.csv has 5 columns, but the model in {model_file} was fitted on 6",
    )


def test_header_that_names_other_columns(tmp_path, model_file, capsys):
    data = write_csv(tmp_path / "swapped.csv", X, ["c0", "c2", "c1", *HEADER[3:]])
    assert_fails_in_one_line(
        capsys,
        tmp_path,
        ["score", model_file, data, "-o", tmp_path / "s.csv"],
        "swapped.csv, column 2: the header says 'c2', but the model in",
    )


@pytest.mark.parametrize("content", [b"0,1\n1,0\n", b"PK\x03\x04 truncated"])
def test_bad_model_files(tmp_path, data_csv, capsys, content):
    model_path = tmp_path / "bad.npz"
    model_path.write_bytes(content)
    message = f"Model file {model_path} is not a complete .npz archive"
    for argv in (
        ["score", model_path, data_csv, "-o", tmp_path / "s.csv"],
        ["sample", model_path, "-n", "2", "-o", tmp_path / "s.csv"],
    ):
        assert_fails_in_one_line(capsys, tmp_path, argv, message)


def test_a_model_file_holding_a_pickle(tmp_path, model_file, data_csv, capsys):
    with np.load(model_file) as archive:
        members = {key: archive[key] for key in archive.files}
    members["params"] = np.array([{"evil": True}], dtype=object)
    np.savez(tmp_path / "pickled.npz", **members)
    argv = ["score", tmp_path / "pickled.npz", data_csv, "-o", tmp_path / "s.csv"]
    assert_fails_in_one_line(capsys, tmp_path, argv, "holds Python objects")


def test_a_failure_late_in_a_stream_leaves_no_output(tmp_path, model_file, capsys):
    data = write_bad_csv(tmp_path / "data.csv", 199, 0, "7")
    out = tmp_path / "scores.csv"
    out.write_text("older scores\n")

    with sklearn.config_context(working_memory=0.001):
        assert_fails_in_one_line(
            capsys,
            tmp_path,
            ["score", model_file, data, "-o", out],
            "line 200, column 1: '7' is not 0 or 1",
        )

    assert out.read_text() == "older scores\n"


@pytest.mark.parametrize(
    "options, message",
    [
        (
            ["--contamination", "0.2"],
            "--contamination sets the outlier threshold; add --detector",
        ),
        (["--detector", "--contamination", "0.7"], "'contamination' parameter"),
        (["--max-iter", "0"], "'max_iter' parameter"),
        (
            ["--ordering", "0,1,2"],
            "ordering must be 'natural', 'random' or a permutation of",
        ),
    ],
)
def test_invalid_settings_fail_in_one_line(
    tmp_path, data_csv, capsys, options, message
):
    argv = ["fit", data_csv, "-o", tmp_path / "m.npz", "-q", *options]
    assert_fails_in_one_line(capsys, tmp_path, argv, message)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "data.csv"], "the following arguments are required: -o/--output"),
        (["fit", "data.csv", "-o", "m.npz", "--hidden", "0"], "positive integers"),
        (["fit", "data.csv", "-o", "m.npz", "--hidden", "wide"], "positive integers"),
        (["sample", "m.npz", "-n", "-3"], "a count of 0 or more"),
        (["fit", "data.csv", "-o", "m.npz", "--activation", "gelu"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_with_status_2_in_one_line(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as raised:
        main(argv)
    err = capsys.readouterr().err

    assert raised.value.code == 2
    assert err.count("\n") == 1 and message in err


def test_demo_is_still_a_command():
    args = fastmade.cli.build_parser().parse_args(["demo", "--seed", "3"])
    assert args.command == "demo" and args.seed == 3


# The pieces behind the commands


def test_csv_header_is_detected_from_a_non_numeric_first_row(tmp_path):
    with_header = write_csv(tmp_path / "a.csv", X[:3], ["x", "1", "z", "4", "5", "6"])
    without = write_csv(tmp_path / "b.csv", X[:3])

    assert CsvTable(str(with_header)).header == ["x", "1", "z", "4", "5", "6"]
    assert CsvTable(str(without)).header is None
    assert CsvTable(str(with_header)).read_all().shape == (3, 6)
    assert CsvTable(str(without)).read_all().shape == (3, 6)


def test_a_byte_order_mark_does_not_make_the_first_row_a_header(tmp_path):
    plain = write_csv(tmp_path / "plain.csv", X)
    marked = tmp_path / "marked.csv"
    marked.write_text(plain.read_text(), encoding="utf-8-sig")
    named = tmp_path / "named.csv"
    named.write_text(
        write_csv(tmp_path / "h.csv", X, HEADER).read_text(), encoding="utf-8-sig"
    )

    table = CsvTable(marked)
    assert table.header is None
    np.testing.assert_array_equal(table.read_all(), X)
    assert CsvTable(named).header == HEADER


def test_blank_lines_are_skipped_but_counted(tmp_path):
    data = tmp_path / "gaps.csv"
    data.write_text("a,b\n\n0,1\n\n1,x\n")
    with pytest.raises(ValueError, match="gaps.csv, line 5, column 2: 'x'"):
        CsvTable(str(data)).read_all()


def test_progress_lines_estimate_the_time_left():
    seconds = iter([100.0, 106.0])
    out = io.StringIO()
    progress = EpochProgress(10, out=out, clock=lambda: next(seconds))

    progress.write("MADEEstimator: epoch 3, train NLL 25.1234, ")
    progress.write("valid NLL 26.3000, 0.12 s\nsomething else\n")

    assert out.getvalue().splitlines() == [
        "epoch 3/10, train NLL 25.1234, valid NLL 26.3000, 6 s spent, "
        "at most 14 s left",
        "something else",
    ]


def test_progress_without_validation():
    progress = EpochProgress(4, out=io.StringIO(), clock=lambda: 0.0)
    line = progress.progress_line("MADEOutlierDetector: epoch 4, train NLL 1.5, 0.01 s")
    assert line == "epoch 4/4, train NLL 1.5, 0 s spent, at most 0 s left"


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0.4, "0 s"),
        (59, "59 s"),
        (61, "1 min 01 s"),
        (3600 + 420, "1 h 07 min"),
    ],
)
def test_durations_read_as_people_write_them(seconds, text):
    assert format_duration(seconds) == text
