"""MADEOutlierDetector: MADE's exact log-likelihood as an anomaly score.

A row is unusual when the fitted density gives it little probability. The
detector is the density estimator plus one threshold, ``offset_``: the
``contamination`` quantile of the training rows' log-likelihoods.
"""

import numbers

import numpy as np
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._estimator import MADEEstimator
from ._validation import check_input


def outlier_labels(decision):
    """+1 for inliers (``decision >= 0``) and -1 for outliers, as integers."""
    return np.where(decision >= 0, 1, -1)


class MADEOutlierDetector(OutlierMixin, MADEEstimator):
    """Unsupervised outlier detection with the MADE density.

    The detector fits :class:`MADEEstimator` on the training rows and flags as
    outliers the rows whose log-likelihood falls below the ``contamination``
    quantile of the training log-likelihoods. Scores are exact log-densities,
    so they can also be compared between data sets scored by the same model.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(500,)
        Number of units in each hidden layer, as in :class:`MADEEstimator`.
    activation : {"relu", "tanh", "sigmoid"}, default="relu"
        Activation of the hidden units.
    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights.
    batch_size : int or "auto", default="auto"
        Rows per minibatch; ``"auto"`` uses ``min(200, n_samples)``.
    learning_rate_init : float, default=1e-3
        Step size of Adam.
    max_iter : int, default=200
        Maximum number of epochs.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows and keep the weights of
        the epoch where their log-likelihood was best.
    validation_fraction : float, default=0.1
        Share of the rows held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without an improvement of more than ``tol`` before stopping.
    tol : float, default=1e-4
        Improvement (in nats per row) that counts.
    ordering : {"natural", "random"} or array-like of int, default="natural"
        Order in which the columns are modelled.
    hidden_degrees : {"random", "equal"}, default="random"
        How hidden units get their degrees.
    distribution : {"auto", "bernoulli", "gaussian", "mixture"}, default="auto"
        The conditional of each dimension, as in :class:`MADEEstimator`:
        ``"auto"`` picks Bernoulli for 0/1 data and Gaussian otherwise.
    n_components : int, default=3
        Components of each conditional when ``distribution="mixture"``.
    n_masks : int, default=1
        Number of mask members averaged in the density.
    direct_connections : bool, default=True
        Add masked direct connections from the inputs to the outputs.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network. Scores are float64 either way.
    random_state : int, RandomState instance or None, default=None
        Controls every random choice of fitting.
    verbose : int, default=0
        Print one line per epoch.
    warm_start : bool, default=False
        Continue from the previous fit's weights when the architecture matches.
    masked_product : {"staircase", "dense"}, default="staircase"
        How the masked products are computed, as in :class:`MADEEstimator`.
    n_jobs : int or None, default=None
        Threads for cached sampling, as in :class:`MADEEstimator`.
    contamination : float, default=0.1
        Expected share of outliers among the training rows, in (0, 0.5]. It
        sets ``offset_`` and so what :meth:`predict` calls an outlier; it does
        not change the density or :meth:`score_samples`.

    Attributes
    ----------
    offset_ : float
        The ``100 * contamination`` percentile of the training rows'
        log-likelihoods; ``decision_function = score_samples - offset_``.
    n_features_in_, feature_names_in_, ordering_, hidden_degrees_, coefs_, \
intercepts_, distribution_, n_iter_, loss_curve_, validation_scores_, \
best_validation_score_
        As in :class:`MADEEstimator`.

    See Also
    --------
    MADEEstimator : The density estimator behind the scores.
    sklearn.ensemble.IsolationForest : Outliers by random partitioning.
    sklearn.neighbors.LocalOutlierFactor : Outliers by local density.

    Notes
    -----
    Fitting costs the same as
    :class:`MADEEstimator` plus one scoring pass over the training rows. With
    early stopping the held-out rows take part in ``offset_`` like all others.
    Ties among the training scores (duplicated rows) can make the share of
    training outliers differ from ``contamination``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmade import MADEOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(300, 8) < 0.2).astype(float)
    >>> X[:, 1] = X[:, 0]
    >>> detector = MADEOutlierDetector(
    ...     hidden_layer_sizes=(16,), contamination=0.05, random_state=0
    ... ).fit(X)
    >>> detector.predict([[1, 1, 0, 0, 0, 0, 0, 0], [1, 0, 1, 1, 1, 1, 1, 1]])
    array([ 1, -1])
    """

    _parameter_constraints = {
        **MADEEstimator._parameter_constraints,
        "contamination": [Interval(numbers.Real, 0, 0.5, closed="right")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(500,),
        *,
        activation="relu",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        ordering="natural",
        hidden_degrees="random",
        distribution="auto",
        n_components=3,
        n_masks=1,
        direct_connections=True,
        dtype="float32",
        random_state=None,
        verbose=0,
        warm_start=False,
        masked_product="staircase",
        n_jobs=None,
        contamination=0.1,
    ):
        super().__init__(
            hidden_layer_sizes,
            activation=activation,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            ordering=ordering,
            hidden_degrees=hidden_degrees,
            distribution=distribution,
            n_components=n_components,
            n_masks=n_masks,
            direct_connections=direct_connections,
            dtype=dtype,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            masked_product=masked_product,
            n_jobs=n_jobs,
        )
        self.contamination = contamination

    def fit(self, X, y=None):
        """Fit the density on ``X`` and set the outlier threshold.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows, as for :class:`MADEEstimator`.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : MADEOutlierDetector
            The fitted detector.
        """
        self._validate_params()
        X, _, feature_names = check_input(self, X, reset=True)

        # Fit and score the validated array while the model knows no feature
        # names, so scoring it does not warn that the names went missing; the
        # names of a frame are restored once both are done.
        super().fit(X)
        scores = self.score_samples(X)
        self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        return self

    def decision_function(self, X):
        """Log-likelihood minus ``offset_``: negative for outliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows like those ``fit`` saw.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``, float64.
        """
        check_is_fitted(self, "offset_")
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each row as an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows like those ``fit`` saw.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int
            +1 where ``decision_function(X) >= 0``, -1 elsewhere.
        """
        return outlier_labels(self.decision_function(X))
