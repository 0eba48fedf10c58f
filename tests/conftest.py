"""Shared fixtures: small binary data sets made on the fly."""

import itertools

import numpy as np
import pytest


def all_binary_vectors(n_features):
    """Every 0/1 vector of length ``n_features``, one per row."""
    return np.array(list(itertools.product([0, 1], repeat=n_features)), dtype=float)


def correlated_binary(n_samples, n_features, seed):
    """Binary rows with dependencies between neighbouring columns."""
    rng = np.random.RandomState(seed)
    X = np.empty((n_samples, n_features))
    X[:, 0] = rng.rand(n_samples) < 0.4
    for d in range(1, n_features):
        flip = rng.rand(n_samples) < 0.2
        X[:, d] = np.where(flip, 1 - X[:, d - 1], X[:, d - 1])
    return X


@pytest.fixture
def binary_data():
    return correlated_binary(120, 6, seed=0)
