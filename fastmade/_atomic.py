"""Output files that appear whole or not at all.

Writers fill a temporary file beside the target and rename it over the target
only once everything is written, so an error (or Ctrl-C) half way leaves no
partial file behind and an older file of the same name untouched. The rename
is atomic because both names are in the same directory, on the same file
system. Errors name the file the user asked for, never the temporary one.
"""

import contextlib
import errno
import os
import secrets


def _temporary_path(path):
    """The temporary name beside ``path``, after refusing names of no file."""
    if path == "":
        raise ValueError("The output path is empty; give the name of a file.")
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise IsADirectoryError(
            errno.EISDIR, "names a directory; give the name of a file", path
        )
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")


def _open_temporary(path, mode, **open_kwargs):
    """Create the temporary file for ``path``; errors name ``path``."""
    temporary = _temporary_path(path)
    try:
        # Exclusive creation through open() keeps the user's umask for the result.
        return temporary, open(temporary, mode.replace("w", "x"), **open_kwargs)
    except OSError as error:
        if error.errno == errno.ENOENT:
            raise FileNotFoundError(
                error.errno, "its directory does not exist", path
            ) from None
        raise type(error)(error.errno, error.strerror, path) from None


def check_output_path(path):
    """Raise the error :func:`atomic_output` would raise for ``path``, if any.

    Lets a long computation refuse an output it could not write before it
    starts, rather than after.
    """
    temporary, handle = _open_temporary(os.fspath(path), "wb")
    handle.close()
    os.unlink(temporary)


@contextlib.contextmanager
def atomic_output(path, mode="wb", **open_kwargs):
    """Open a temporary file to be renamed to ``path`` on success.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace.
    mode : {"wb", "w"}, default="wb"
        Binary or text output.
    **open_kwargs
        Passed to :func:`open`, for example ``newline=""`` for CSV.

    Yields
    ------
    handle : file object
        Write to it; it is closed and renamed when the block ends without an
        exception, and deleted when it ends with one.

    Raises
    ------
    ValueError
        If ``path`` is empty.
    OSError
        If ``path`` is a directory, its directory does not exist or cannot be
        written; the error's ``filename`` is ``path``.
    """
    path = os.fspath(path)
    temporary, handle = _open_temporary(path, mode, **open_kwargs)
    try:
        with handle:
            yield handle
        try:
            os.replace(temporary, path)
        except OSError as error:
            raise type(error)(error.errno, error.strerror, path) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
