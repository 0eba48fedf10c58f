"""Tables of numbers read from CSV and ``.npy`` files, a chunk of rows at a time.

The command line reads its data here. A file may be larger than memory: rows
come in chunks, read from a CSV a block of lines at a time or sliced from a
``.npy`` file opened with ``mmap_mode="r"``. Every problem is reported as a
:class:`DataFileError` that names the file and, where there is one, the place:
CSV places are ``line L, column C`` counted from 1, as an editor shows them;
``.npy`` places are ``row R, column C`` counted from 0, as NumPy indexes them.

A CSV file is UTF-8 text (a byte-order mark is dropped) of comma-separated
numbers, one row a line; blank lines are skipped. Its first record is a header
of column names when any of its fields is not a number; names may be quoted as
the :mod:`csv` module writes them. Values must be finite, and 0 or 1 for a
binary table.
"""

import contextlib
import csv
import itertools
import os

import numpy as np

from ._chunks import chunk_rows
from ._validation import first_non_binary

# Scratch per value while a CSV block is parsed: the line's text and the floats.
CSV_BYTES_PER_VALUE = 32


class DataFileError(ValueError):
    """A data file that cannot be read as a table of numbers."""


def open_table(path, binary=True):
    """Open ``path`` as a table: ``.npy`` by its suffix, CSV otherwise.

    With ``binary`` every value must be 0 or 1; otherwise any finite number.
    """
    path = os.fspath(path)
    if path.lower().endswith(".npy"):
        return NpyTable(path, binary)
    return CsvTable(path, binary)


def _is_number(field):
    try:
        float(field)
    except ValueError:
        return False
    return True


class _Table:
    """What both kinds of table share: the check of values, reading all rows.

    Attributes
    ----------
    path : str
    binary : bool
        Whether values must be 0 or 1.
    header : list of str or None
        The column names, when the file has them.
    n_columns : int
    """

    header = None

    def _first_bad(self, values):
        """``(row, column, what is wrong)`` of the first bad value, or None."""
        if self.binary:
            bad = first_non_binary(values)
            wrong = "is not 0 or 1; fastmade models binary data, so binarise it"
        else:
            rows, columns = np.nonzero(~np.isfinite(values))
            bad = (int(rows[0]), int(columns[0])) if rows.size else None
            wrong = "is not a finite number"
        return None if bad is None else (*bad, wrong)

    def read_all(self):
        """Every row: uint8 for a binary table, float64 otherwise."""
        dtype = np.uint8 if self.binary else np.float64
        return np.concatenate(
            [values.astype(dtype) for _, values in self.chunks()], axis=0
        )


class CsvTable(_Table):
    """A CSV file of numbers, with an optional header line.

    The file is read as UTF-8, with or without a byte-order mark. The header
    is read with the :mod:`csv` module, so quoted names may hold commas,
    quotes and line breaks.
    """

    def __init__(self, path, binary=True):
        self.path = path
        self.binary = binary
        with self._open() as handle:
            first = self._first_record(handle)
        if first is None:
            raise DataFileError(f"{path} holds no rows.")
        self._first_line, self._header_end, fields = first
        self.n_columns = len(fields)
        if not all(_is_number(field) for field in fields):
            self.header = [field.strip() for field in fields]

    @contextlib.contextmanager
    def _open(self):
        """The file as text, with decoding errors named by the file."""
        # utf-8-sig drops a byte-order mark, which would otherwise make the
        # first field of a headerless file look like a column name.
        try:
            with open(self.path, encoding="utf-8-sig", newline="") as handle:
                yield handle
        except UnicodeDecodeError as error:
            raise DataFileError(
                f"{self.path} is not UTF-8 text (byte "
                f"{error.object[error.start : error.start + 1]!r} cannot be "
                "decoded); save it as UTF-8 CSV."
            ) from None

    def _first_record(self, handle):
        """``(first line, last line, fields)`` of the first non-blank record."""
        for number, line in enumerate(handle, start=1):
            if line.strip():
                break
        else:
            return None
        reader = csv.reader(itertools.chain([line], handle))
        fields = next(reader)
        return number, number + reader.line_num - 1, fields

    @staticmethod
    def _numbered_lines(handle):
        """``(line number, text)`` of every non-blank line, counting from 1."""
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if text.strip():
                yield number, text

    def chunks(self, n_rows=None):
        """Yield ``(first_row, values)``: float64 arrays of at most ``n_rows`` rows.

        ``n_rows`` defaults to what fits scikit-learn's working memory.
        """
        if n_rows is None:
            n_rows = chunk_rows(CSV_BYTES_PER_VALUE * self.n_columns)
        first_row = 0
        with self._open() as handle:
            lines = self._numbered_lines(handle)
            if self.header is not None:
                lines = itertools.dropwhile(
                    lambda line: line[0] <= self._header_end, lines
                )
            while block := list(itertools.islice(lines, n_rows)):
                yield first_row, self._parse(block)
                first_row += len(block)
        if first_row == 0:
            raise DataFileError(f"{self.path} holds a header but no rows.")

    def _parse(self, block):
        """Values of a block of numbered lines, or an error naming the place."""
        try:
            values = np.loadtxt(
                [text for _, text in block],
                delimiter=",",
                comments=None,
                dtype=np.float64,
                ndmin=2,
            )
        except ValueError:
            values = None
        if values is None or values.shape[1] != self.n_columns:
            self._raise_parse_error(block)

        bad = self._first_bad(values)
        if bad is not None:
            row, column, wrong = bad
            field = block[row][1].split(",")[column].strip()
            raise DataFileError(
                f"{self.path}, line {block[row][0]}, column {column + 1}: "
                f"{field!r} {wrong}."
            )
        return values

    def _raise_parse_error(self, block):
        """Find the line that NumPy could not read and say what is wrong with it."""
        first = "the header" if self.header is not None else "the first row"
        for number, text in block:
            fields = text.split(",")
            if len(fields) != self.n_columns:
                raise DataFileError(
                    f"{self.path}, line {number}: {len(fields)} columns, but "
                    f"{first} (line {self._first_line}) has {self.n_columns}."
                )
            for column, field in enumerate(fields, start=1):
                if not _is_number(field):
                    raise DataFileError(
                        f"{self.path}, line {number}, column {column}: "
                        f"{field.strip()!r} is not a number."
                    )
        raise DataFileError(f"{self.path} cannot be read as comma-separated numbers.")


class NpyTable(_Table):
    """A two-dimensional numeric ``.npy`` array, memory-mapped."""

    def __init__(self, path, binary=True):
        self.path = path
        self.binary = binary
        with open(path, "rb") as handle:
            signature = handle.read(len(np.lib.format.MAGIC_PREFIX))
        archive = signature.startswith(b"PK\x03\x04")
        if signature != np.lib.format.MAGIC_PREFIX and not archive:
            # np.load would take it for a pickle and talk of allow_pickle.
            raise DataFileError(
                f"{path} is not a valid .npy array: it does not start with the "
                ".npy signature (write it with numpy.save, or name a CSV file "
                ".csv)."
            )
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, EOFError) as error:
            # Object arrays (pickles), damaged headers and truncated data.
            raise DataFileError(f"{path} cannot be read as a .npy array ({error}).")
        if not isinstance(array, np.ndarray):
            raise DataFileError(f"{path} is not a .npy array (it is an archive).")
        if array.ndim != 2:
            raise DataFileError(
                f"{path} holds an array of shape {array.shape}; a table needs two "
                "dimensions, rows and columns."
            )
        if array.dtype.kind not in "biuf":
            raise DataFileError(
                f"{path} holds {array.dtype} values; fastmade reads numbers."
            )
        if array.shape[0] == 0:
            raise DataFileError(f"{path} holds no rows.")
        self.array = array
        self.n_columns = array.shape[1]

    def chunks(self, n_rows=None):
        """Yield ``(first_row, values)``: float64 arrays of at most ``n_rows`` rows.

        Only the rows of one chunk are read from the file at a time.
        """
        if n_rows is None:
            n_rows = chunk_rows(8 * self.n_columns)
        for start in range(0, self.array.shape[0], n_rows):
            values = np.asarray(self.array[start : start + n_rows], dtype=np.float64)
            bad = self._first_bad(values)
            if bad is not None:
                row, column, wrong = bad
                raise DataFileError(
                    f"{self.path}, row {start + row}, column {column} (counting "
                    f"from 0): {values[row, column].item()} {wrong}."
                )
            yield start, values
