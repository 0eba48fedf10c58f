"""Data sets that ship with fastmade's dependencies."""

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits


@dataclass
class BinarizedDigits:
    """Binarised 8x8 digits split into train, validation and test.

    Attributes
    ----------
    train, valid, test : ndarray of shape (n, 64), dtype uint8
        Pixel values 0/1, one image per row.
    train_labels, valid_labels, test_labels : ndarray of shape (n,)
        The digit (0-9) of each image.
    """

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray
    valid_labels: np.ndarray
    test_labels: np.ndarray


def load_binarized_digits(threshold=8):
    """Load scikit-learn's 8x8 digits as binary images with a fixed split.

    Pixels range over 0..16 and become 1 when above ``threshold``. The 1797
    images are shuffled with a fixed seed and split 60/20/20 into train,
    validation and test, so every call returns the same split.

    Parameters
    ----------
    threshold : int, default=8
        Pixels strictly above it are set to 1.

    Returns
    -------
    data : BinarizedDigits

    Examples
    --------
    >>> from fastmade.datasets import load_binarized_digits
    >>> data = load_binarized_digits()
    >>> data.train.shape, data.valid.shape, data.test.shape
    ((1078, 64), (359, 64), (360, 64))
    """
    digits = load_digits()
    X = (digits.data > threshold).astype(np.uint8)
    y = digits.target
    order = np.random.RandomState(0).permutation(len(X))
    n_train = int(0.6 * len(X))
    n_valid = int(0.2 * len(X))
    parts = np.split(order, [n_train, n_train + n_valid])
    return BinarizedDigits(*(X[rows] for rows in parts), *(y[rows] for rows in parts))
