"""Real-valued data: test log-likelihood and anomaly AUC against scikit-learn.

Usage::

    python benchmarks/real_valued.py

Data: scikit-learn's breast_cancer and wine, split 70/30 with a fixed seed
(stratified by class) and standardised with the training rows' mean and
standard deviation, so every model is scored in the same units.

Density table (mean test log-likelihood per row, nats, higher is better):

- MADEEstimator with its defaults (``distribution="auto"`` picks Gaussian
  conditionals for these data), with ``distribution="mixture"``, and with its
  parameters chosen the way KernelDensity's bandwidth is: 3-fold
  cross-validated log-likelihood on the training rows over a small generic grid
  (``MADE_GRID``: L2 penalty, minibatch size, one mask or eight, Gaussian or
  mixture), then refit on all of them;
- GaussianMixture with full covariances, the number of components (1 to 6)
  chosen by BIC on the training rows;
- KernelDensity with a Gaussian kernel, bandwidth chosen by 5-fold
  cross-validated log-likelihood on the training rows.

Anomaly table (ROC AUC on breast_cancer): every detector is trained on the
benign training rows only; the test split's malignant rows are the anomalies.
MADEOutlierDetector runs with its defaults; IsolationForest, LOF (novelty),
OneClassSVM, GaussianMixture and KernelDensity are set up as above or with
scikit-learn's defaults. BernoulliRBM models binary data and is left out.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KernelDensity, LocalOutlierFactor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from fastmade import MADEEstimator, MADEOutlierDetector

SEED = 0


def split(loader):
    """Standardised train and test rows and labels of one data set."""
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=SEED
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def gaussian_mixture_by_bic(X):
    models = [
        GaussianMixture(
            k, covariance_type="full", reg_covar=1e-4, random_state=SEED
        ).fit(X)
        for k in range(1, 7)
    ]
    return min(models, key=lambda model: model.bic(X))


def kernel_density_by_cv(X):
    search = GridSearchCV(
        KernelDensity(), {"bandwidth": np.logspace(-1.5, 1, 30)}, cv=5
    )
    return search.fit(X).best_estimator_


def made(X, **params):
    return MADEEstimator(random_state=SEED, **params).fit(X)


# A generic grid, fixed before any run: orders of magnitude of the L2 penalty,
# small or automatic minibatches, one mask or an ensemble of eight random
# orderings, Gaussian or mixture conditionals.
MADE_GRID = {
    "alpha": [1e-4, 1e-2, 1.0, 10.0],
    "batch_size": [32, "auto"],
    "n_masks": [1, 8],
    "distribution": ["gaussian", "mixture"],
}


def made_by_cv(X):
    """MADE with its parameters chosen by 3-fold CV log-likelihood, then refit."""
    search = GridSearchCV(
        MADEEstimator(ordering="random", random_state=SEED), MADE_GRID, cv=3
    )
    search.fit(X)
    CHOSEN.append(search.best_params_)
    return search.best_estimator_


# What made_by_cv picked, one entry a data set, printed under the table.
CHOSEN = []


DENSITIES = {
    "MADE (defaults)": made,
    "MADE (mixture)": lambda X: made(X, distribution="mixture"),
    "MADE (CV)": made_by_cv,
    "GaussianMixture (BIC)": gaussian_mixture_by_bic,
    "KernelDensity (CV)": kernel_density_by_cv,
}

DETECTORS = {
    "MADE (defaults)": lambda X: MADEOutlierDetector(random_state=SEED).fit(X),
    "IsolationForest": lambda X: IsolationForest(random_state=SEED).fit(X),
    "LOF (novelty)": lambda X: LocalOutlierFactor(novelty=True).fit(X),
    "OneClassSVM": lambda X: OneClassSVM(gamma="scale", nu=0.1).fit(X),
    "GaussianMixture (BIC)": gaussian_mixture_by_bic,
    "KernelDensity (CV)": kernel_density_by_cv,
}


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    data = {"breast_cancer": split(load_breast_cancer), "wine": split(load_wine)}

    print("Mean test log-likelihood per row (nats, standardised units):\n")
    print("| model | " + " | ".join(data) + " |")
    print("|---|" + "---|" * len(data))
    for name, fit in DENSITIES.items():
        cells = []
        for X_train, X_test, _, _ in data.values():
            start = time.perf_counter()
            score = fit(X_train).score_samples(X_test).mean()
            cells.append(f"{score:.2f} ({time.perf_counter() - start:.1f} s)")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    for name, params in zip(data, CHOSEN):
        print(f"\nMADE (CV) on {name}: {params}")

    X_train, X_test, y_train, y_test = data["breast_cancer"]
    benign = X_train[y_train == 1]
    anomalous = y_test == 0
    print("\nbreast_cancer anomaly ROC AUC (trained on benign rows only):\n")
    print("| detector | ROC AUC |")
    print("|---|---|")
    for name, fit in DETECTORS.items():
        normality = fit(benign).score_samples(X_test)
        print(f"| {name} | {roc_auc_score(anomalous, -normality):.4f} |", flush=True)


if __name__ == "__main__":
    main()
