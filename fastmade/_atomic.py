"""Output files that appear whole or not at all.

Writers fill a temporary file beside the target and rename it over the target
only once everything is written, so an error (or Ctrl-C) half way leaves no
partial file behind and an older file of the same name untouched. The rename
is atomic because both names are in the same directory, on the same file
system.
"""

import contextlib
import os
import secrets


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
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
    # Exclusive creation through open() keeps the user's umask for the result.
    handle = open(temporary, mode.replace("w", "x"), **open_kwargs)
    try:
        with handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
