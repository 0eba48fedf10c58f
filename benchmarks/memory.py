"""Peak memory of scoring a memory-mapped file far larger than a chunk.

Usage::

    python benchmarks/memory.py [--rows 2000000] [--features 784] [--dir /tmp]

Writes a ``.npy`` file of random 0/1 rows (uint8), opens it with
``mmap_mode="r"`` and scores it with a MADE of one hidden layer of 500 units.
Pages of a memory-mapped file count towards a process's resident set but are
the input, not scratch, so the script reports the peak of the *anonymous*
resident memory (``RssAnon`` in ``/proc/self/status``, sampled every 5 ms on a
second thread) above what it was before scoring, next to the size of the
input. That covers NumPy's arrays, BLAS buffers and everything else the process
allocates. Linux only.
"""

import argparse
import os
import tempfile
import threading
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastmade import MADEEstimator


def anonymous_rss():
    """Anonymous resident memory of this process, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no RssAnon in /proc/self/status: Linux only")


class PeakWatcher:
    """Samples :func:`anonymous_rss` on a thread and keeps the maximum."""

    def __enter__(self):
        self.peak = anonymous_rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, anonymous_rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, anonymous_rss())


def write_rows(path, n_rows, n_features, seed=0):
    """Write random 0/1 rows to a .npy file a block at a time."""
    rng = np.random.RandomState(seed)
    out = np.lib.format.open_memmap(path, "w+", np.uint8, (n_rows, n_features))
    for start in range(0, n_rows, 100000):
        stop = min(start + 100000, n_rows)
        out[start:stop] = rng.rand(stop - start, n_features) < 0.3
    out.flush()
    del out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()

    rng = np.random.RandomState(0)
    est = MADEEstimator(
        hidden_layer_sizes=(500,), max_iter=1, early_stopping=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit((rng.rand(512, args.features) < 0.3).astype(np.uint8))

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "rows.npy")
        write_rows(path, args.rows, args.features)
        X = np.load(path, mmap_mode="r")
        start = time.perf_counter()
        with PeakWatcher() as watcher:
            before = anonymous_rss()
            scores = est.score_samples(X)
        seconds = time.perf_counter() - start
        extra = watcher.peak - before

    print(
        f"input: {X.shape[0]} x {X.shape[1]} uint8, {X.nbytes / 2**30:.2f} GiB "
        "memory-mapped"
    )
    print(
        f"scored in {seconds:.1f} s ({X.shape[0] / seconds:.0f} rows/s); "
        f"all finite: {bool(np.isfinite(scores).all())}"
    )
    print(
        f"peak anonymous memory above the start: {extra / 2**20:.0f} MiB "
        f"(the output alone is {scores.nbytes / 2**20:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
