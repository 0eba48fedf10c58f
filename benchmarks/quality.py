"""Test NLL of single-mask MADE on the binary UCI sets of the MADE paper.

Usage::

    python benchmarks/quality.py DATA_DIR [--sets dna mushrooms]

DATA_DIR holds ``<name>.npz`` archives with uint8 arrays ``train``, ``valid``
and ``test``. Each configuration of a small grid is fitted on train + valid with
early stopping on a held-out share the size of ``valid``; the configuration
with the best held-out log-likelihood is reported on ``test``. The test rows
are never used to choose anything.
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastmade import MADEEstimator

GRID = [
    dict(activation="relu", alpha=1e-4, learning_rate_init=1e-3),
    dict(activation="tanh", alpha=1.0, learning_rate_init=3e-3),
    dict(activation="tanh", alpha=3.0, learning_rate_init=3e-3),
]


def evaluate(path, seed=0):
    """Fit the grid on one data set; return the chosen row of results."""
    data = np.load(path)
    X_fit = np.vstack([data["train"], data["valid"]])
    share = len(data["valid"]) / len(X_fit)
    results = []
    for params in GRID:
        start = time.perf_counter()
        est = MADEEstimator(
            hidden_layer_sizes=(500,),
            n_masks=1,
            max_iter=1000,
            validation_fraction=share,
            random_state=seed,
            **params,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X_fit)
        results.append(
            dict(
                params=params,
                valid_nll=-est.best_validation_score_,
                test_nll=-est.score(data["test"]),
                epochs=est.n_iter_,
                seconds=time.perf_counter() - start,
            )
        )
        print(
            f"  {params}: held-out NLL {results[-1]['valid_nll']:.2f}, "
            f"test NLL {results[-1]['test_nll']:.2f}, "
            f"{results[-1]['epochs']} epochs, {results[-1]['seconds']:.0f} s",
            flush=True,
        )
    return min(results, key=lambda row: row["valid_nll"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--sets", nargs="+", default=["dna", "mushrooms"])
    args = parser.parse_args()

    chosen = {}
    for name in args.sets:
        print(f"{name}:", flush=True)
        chosen[name] = evaluate(os.path.join(args.data_dir, f"{name}.npz"))

    print("\n| data set | chosen configuration | test NLL (nats) |")
    print("|---|---|---|")
    for name, row in chosen.items():
        print(f"| {name} | {row['params']} | {row['test_nll']:.2f} |")


if __name__ == "__main__":
    main()
