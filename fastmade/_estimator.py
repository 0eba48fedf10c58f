"""MADEEstimator: the scikit-learn density estimator."""

import copy
import functools
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._conditionals import DISTRIBUTIONS, make_conditional
from ._layouts import output_columns
from ._made import MADENetwork
from ._random import make_rng
from ._masks import (
    DEGREE_SCHEMES,
    ORDERINGS,
    draw_hidden_degrees,
    draw_orderings,
    warn_if_lost,
)
from ._cached_sampler import MAX_COMPONENTS
from ._cached_sampling import sample_member_cached
from ._naive_sampler import sample_member_naive
from ._network import ACTIVATIONS, init_params
from ._products import MASKED_PRODUCTS
from ._sampling import sample_network
from ._training import train
from ._standardization import standardization
from ._validation import check_input, dense_chunks, is_binary

SAMPLING_METHODS = ("cached", "naive")


class MADEEstimator(DensityMixin, BaseEstimator):
    """Density estimation with MADE, the masked autoencoder.

    MADE models ``p(x) = prod_d p(x_d | x_<d)`` with one feed-forward network
    whose connections are masked so that the output for each input depends only
    on the inputs before it in an ordering. The log-likelihood is exact and
    takes one forward pass; sampling generates one dimension after another.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(500,)
        Number of units in each hidden layer. Layers at least ``n_features - 1``
        wide let every conditional see all of its predecessors; narrower layers
        work but drop some connections, with a warning.
    activation : {"relu", "tanh", "sigmoid"}, default="relu"
        Activation of the hidden units.
    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights, scaled as in
        :class:`~sklearn.neural_network.MLPClassifier`.
    batch_size : int or "auto", default="auto"
        Rows per minibatch; ``"auto"`` uses ``min(200, n_samples)``.
    learning_rate_init : float, default=1e-3
        Step size of Adam.
    max_iter : int, default=200
        Maximum number of epochs.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows, stop when their
        log-likelihood stops improving and keep the best weights.
    validation_fraction : float, default=0.1
        Share of the rows held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without an improvement of more than ``tol`` before stopping.
    tol : float, default=1e-4
        Improvement (in nats per row) that counts.
    ordering : {"natural", "random"} or array-like of int, default="natural"
        Order in which the columns are modelled: left to right, a random
        permutation per mask member, or a permutation of the column indices
        (``ordering[0]`` is modelled first).
    hidden_degrees : {"random", "equal"}, default="random"
        How hidden units get their degrees: uniformly at random as in the MADE
        paper, or spread evenly over the range.
    distribution : {"auto", "bernoulli", "gaussian", "mixture"}, default="auto"
        The conditional of each dimension given the ones before it. Bernoulli
        models 0/1 data; Gaussian (a mean and a bounded log-scale) and mixture
        (``n_components`` Gaussians) model real values, standardised
        internally. ``"auto"`` picks Bernoulli when every value is 0 or 1 and
        Gaussian otherwise; ``distribution_`` says which.
    n_components : int, default=3
        Components of each conditional when ``distribution="mixture"``, at most
        16 (the sampling kernel keeps a row's component weights on the stack).
    n_masks : int, default=1
        Number of mask members. With more than one, training cycles through
        the members over minibatches and the density is the mean of the
        members' densities.
    direct_connections : bool, default=True
        Add masked direct connections from the inputs to the outputs, so every
        conditional contains a logistic regression on its predecessors.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network. Scores are returned in float64 either way.
    random_state : int, RandomState instance or None, default=None
        Controls the orderings, degrees, initial weights, validation split and
        minibatches. The global NumPy random state is never used.
    verbose : int, default=0
        Print one line per epoch: training NLL, validation NLL, seconds.
    warm_start : bool, default=False
        Continue from the previous fit's weights and masks when the data and
        architecture match; ``n_iter_``, ``loss_curve_`` and
        ``validation_scores_`` then count the epochs of both fits.
    masked_product : {"staircase", "dense"}, default="staircase"
        How training and scoring multiply by the masked weights: the compiled
        staircase kernel, which skips the zero half of every mask, or dense
        products of weights times masks, the reference. Both give the same
        results up to rounding.
    n_jobs : int or None, default=None
        Threads for cached sampling; ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context, -1 means all processors. The
        samples do not depend on it.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` had string column names.
    ordering_ : ndarray of shape (n_masks, n_features_in_)
        ``ordering_[k, i]`` is the column that member k models i-th.
    hidden_degrees_ : list of list of ndarray
        ``hidden_degrees_[k][l]``: degrees of the units of layer l in member k.
    coefs_ : list of ndarray
        Weight matrices (hidden layers, output, then direct connections), with
        input rows and output columns in the order of the features.
    intercepts_ : list of ndarray
        Biases of the hidden layers and the output.
    distribution_ : str
        The conditional distribution fitted: ``"bernoulli"``, ``"gaussian"`` or
        ``"mixture"``.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training NLL (nats per row, without the penalty) after each epoch.
    validation_scores_ : list of float or None
        Mean validation log-likelihood after each epoch, with early stopping.
    best_validation_score_ : float or None
        The best of ``validation_scores_``, whose weights were kept.

    See Also
    --------
    sklearn.neighbors.KernelDensity : Kernel density estimation.
    sklearn.neural_network.BernoulliRBM : Restricted Boltzmann machine.

    Notes
    -----
    Binary columns are modelled with Bernoulli conditionals and real-valued
    ones with Gaussians or mixtures of Gaussians; one model uses one kind for
    all of its columns.
    Scoring costs one forward pass, ``O(n_samples * n_weights)``. Cached
    sampling (the default) computes every hidden unit once, about one masked
    forward pass; naive sampling costs ``n_features`` forward passes. Both
    consume the same random numbers and return the same samples for the same
    seed, but for draws that land within rounding of their threshold.

    References
    ----------
    M. Germain, K. Gregor, I. Murray and H. Larochelle, "MADE: Masked
    Autoencoder for Distribution Estimation", ICML 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmade import MADEEstimator
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(200, 6) < 0.3).astype(float)
    >>> est = MADEEstimator(hidden_layer_sizes=(20,), random_state=0).fit(X)
    >>> est.score_samples(X[:3]).shape
    (3,)
    >>> est.sample(4, random_state=1).shape
    (4, 6)
    """

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "ordering": [StrOptions(set(ORDERINGS)), "array-like"],
        "hidden_degrees": [StrOptions(set(DEGREE_SCHEMES))],
        "distribution": [StrOptions({"auto", *DISTRIBUTIONS})],
        "n_components": [Interval(numbers.Integral, 1, MAX_COMPONENTS, closed="both")],
        "n_masks": [Interval(numbers.Integral, 1, None, closed="left")],
        "direct_connections": ["boolean"],
        "dtype": [StrOptions({"float32", "float64"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "masked_product": [StrOptions(set(MASKED_PRODUCTS))],
        "n_jobs": [
            Interval(numbers.Integral, None, -1, closed="right"),
            Interval(numbers.Integral, 1, None, closed="left"),
            None,
        ],
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
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.ordering = ordering
        self.hidden_degrees = hidden_degrees
        self.distribution = distribution
        self.n_components = n_components
        self.n_masks = n_masks
        self.direct_connections = direct_connections
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.masked_product = masked_product
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _layer_sizes(self):
        sizes = np.atleast_1d(np.asarray(self.hidden_layer_sizes))
        flags = [
            isinstance(size, (bool, np.bool_))
            for size in np.ravel(np.asarray(self.hidden_layer_sizes, dtype=object))
        ]
        if (
            any(flags)
            or sizes.ndim != 1
            or sizes.size == 0
            or sizes.dtype.kind not in "iu"
            or (sizes < 1).any()
        ):
            raise ValueError(
                "hidden_layer_sizes must be a positive integer or a non-empty "
                f"sequence of positive integers; got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(size) for size in sizes)

    def _architecture(self, n_features, distribution):
        """What must match for warm_start to continue a previous fit."""
        ordering = (
            self.ordering
            if isinstance(self.ordering, str)
            else tuple(np.asarray(self.ordering).tolist())
        )
        return (
            n_features,
            self._layer_sizes(),
            self.activation,
            ordering,
            self.hidden_degrees,
            self.n_masks,
            self.direct_connections,
            self.dtype,
            distribution,
            self.n_components if distribution == "mixture" else None,
        )

    def _row_bytes(self, n_features, n_params):
        """Bytes of scratch one row takes when it is scored, counted generously.

        The row as read, standardised and permuted (3 D), the hidden layers, the
        output and its float64 copy (2 D P), the log-probabilities and their
        temporaries (2 D) and one score per member, all at 8 bytes.
        """
        width = 5 * n_features + sum(self._layer_sizes()) + 2 * n_features * n_params
        return 8 * (width + self.n_masks)

    def _resolve_distribution(self, X):
        """The conditional to fit: ``distribution``, with "auto" read off ``X``."""
        if self.distribution != "auto":
            return self.distribution
        return "bernoulli" if is_binary(X) else "gaussian"

    def _new_network(self, orderings, distribution, shift, scale, rng):
        """Draw degrees and initial weights for members of the given orderings."""
        conditional = make_conditional(distribution, self.n_components)
        layer_sizes = self._layer_sizes()
        n_features = orderings.shape[1]
        hidden = [
            draw_hidden_degrees(layer_sizes, n_features, self.hidden_degrees, rng)
            for _ in range(self.n_masks)
        ]
        weights, biases = init_params(
            layer_sizes,
            n_features,
            conditional.n_params,
            self.direct_connections,
            np.dtype(self.dtype),
            rng,
        )
        warn_if_lost(zip(orderings, hidden), n_features, self.direct_connections)
        network = MADENetwork(
            weights,
            biases,
            orderings,
            hidden,
            self.activation,
            conditional,
            self.masked_product,
            shift,
            scale,
        )
        if self.n_masks == 1:
            # A single member's weights are kept masked: the stored weights are
            # the effective ones, and masked entries never change in training.
            for weight, mask in zip(network.weights, network.masks[0]):
                weight *= mask
        return network

    def fit(self, X, y=None):
        """Fit the MADE model on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows: 0/1 values for Bernoulli conditionals, any finite
            values for the Gaussian ones. Pandas frames, sparse matrices and any
            numeric dtype are accepted.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : MADEEstimator
            The fitted estimator.
        """
        self._validate_params()
        X, n_features, feature_names = check_input(self, X, reset=True)
        name = type(self).__name__
        distribution = self._resolve_distribution(X)
        architecture = self._architecture(n_features, distribution)
        if self.early_stopping and X.shape[0] < 2:
            raise ValueError(
                f"{name} with early_stopping=True needs at least 2 samples to "
                "hold some out for validation, got 1 sample; pass more rows or "
                "set early_stopping=False."
            )

        rng = make_rng(self.random_state)
        reuse = (
            self.warm_start
            and hasattr(self, "_network")
            and self._fit_architecture == architecture
        )
        if reuse:
            network = copy.deepcopy(self._network)
            orderings = network.orderings
        else:
            orderings = draw_orderings(self.ordering, n_features, self.n_masks, rng)
        # Columns are read in canonical order: the first member's generation order.
        Xc = np.empty((X.shape[0], n_features))
        for rows, chunk in dense_chunks(
            X,
            orderings[0],
            np.float64,
            name,
            self._row_bytes(
                n_features, make_conditional(distribution, self.n_components).n_params
            ),
            binary=distribution == "bernoulli",
        ):
            Xc[rows] = chunk
        shift, scale = (None, None) if reuse else standardization(Xc, distribution)

        X_train, X_valid = Xc, None
        if self.early_stopping:
            order = rng.permutation(X.shape[0])
            n_valid = max(1, int(round(self.validation_fraction * X.shape[0])))
            n_valid = min(n_valid, X.shape[0] - 1)
            X_valid, X_train = Xc[order[:n_valid]], Xc[order[n_valid:]]

        if not reuse:
            network = self._new_network(orderings, distribution, shift, scale, rng)
            network.biases[-1][...] = network.conditional.initial_bias(
                network.standardize(X_train)
            )
        network.masked_product = self.masked_product
        X_train = network.standardize(X_train)
        if X_valid is not None:
            X_valid = network.standardize(X_valid)

        batch_size = (
            min(200, X_train.shape[0])
            if self.batch_size == "auto"
            else min(self.batch_size, X_train.shape[0])
        )
        history = train(
            network,
            X_train,
            X_valid,
            alpha=self.alpha,
            batch_size=batch_size,
            learning_rate_init=self.learning_rate_init,
            max_iter=self.max_iter,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            rng=rng,
            verbose=self.verbose,
            name=name,
        )
        if not history.converged:
            warnings.warn(
                f"{name} stopped after max_iter={self.max_iter} epochs before "
                "converging; raise max_iter for a better fit.",
                ConvergenceWarning,
            )

        if reuse:
            # A continued fit extends the record, as scikit-learn's MLP does.
            history.n_iter += self.n_iter_
            history.loss_curve = [*self.loss_curve_, *history.loss_curve]
            if self.early_stopping and self.validation_scores_ is not None:
                history.validation_scores = [
                    *self.validation_scores_,
                    *history.validation_scores,
                ]
        self._set_fitted(network, history, n_features, feature_names, architecture)
        return self

    def _set_fitted(self, network, history, n_features, feature_names, architecture):
        """Store the fitted state, all at once, after fitting has succeeded."""
        self._network = network
        self._fit_architecture = architecture
        self.n_features_in_ = n_features
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.ordering_ = network.orderings.copy()
        self.hidden_degrees_ = [
            [layer.copy() for layer in member] for member in network.hidden_degrees
        ]
        self.distribution_ = network.conditional.name
        self.n_iter_ = history.n_iter
        self.loss_curve_ = history.loss_curve
        if self.early_stopping:
            self.validation_scores_ = history.validation_scores
            self.best_validation_score_ = history.best_validation_score
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _feature_order(self):
        """Canonical indices of the features, and of their output columns."""
        check_is_fitted(self)
        network = self._network
        to_user = np.argsort(network.orderings[0])
        return to_user, output_columns(to_user, network.conditional.n_params)

    @property
    def coefs_(self):
        """Weight matrices with inputs and outputs in the order of the features."""
        to_user, out_columns = self._feature_order()
        network = self._network
        coefs = [W.copy() for W in network.weights]
        coefs[0] = coefs[0][to_user]
        n_layers = len(network.biases) - 1
        coefs[n_layers] = coefs[n_layers][:, out_columns]
        if len(coefs) > n_layers + 1:
            coefs[-1] = coefs[-1][to_user][:, out_columns]
        return coefs

    @property
    def intercepts_(self):
        """Hidden biases, then the output bias in the order of the features."""
        _, out_columns = self._feature_order()
        intercepts = [b.copy() for b in self._network.biases]
        intercepts[-1] = intercepts[-1][out_columns]
        return intercepts

    def score_samples(self, X):
        """Log-likelihood of each row under the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows like those ``fit`` saw.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log p(x)`` in nats, float64. Higher means more typical.
        """
        check_is_fitted(self)
        X, _, _ = check_input(self, X, reset=False)
        network = self._network
        log_density = np.empty(X.shape[0])
        for rows, chunk in dense_chunks(
            X,
            network.orderings[0],
            np.float64,
            type(self).__name__,
            self._row_bytes(self.n_features_in_, network.conditional.n_params),
            binary=network.conditional.binary,
        ):
            log_density[rows] = network.log_likelihood(network.standardize(chunk))
        return log_density

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows like those ``fit`` saw.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`, in nats per row.
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1, random_state=None, method="cached"):
        """Draw rows from the model.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to draw; 0 gives an empty array.
        random_state : int, RandomState instance or None, default=None
            Seed of the random numbers (their layout is documented in
            ``fastmade._sampling``). The same seed gives the same rows.
        method : {"cached", "naive"}, default="cached"
            ``"cached"`` runs the compiled kernel that computes every hidden
            unit once; ``"naive"`` runs one full forward pass per dimension,
            as a reference.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            Samples as float64, columns in the order of the features: 0/1
            values for Bernoulli conditionals, in the data's units otherwise.
        """
        if not hasattr(self, "_network"):
            # scikit-learn's check costs a few percent of a one-row draw: call it
            # only to raise its NotFittedError.
            check_is_fitted(self, "_network")
        if isinstance(n_samples, (bool, np.bool_)) or not isinstance(
            n_samples, numbers.Integral
        ):
            raise TypeError(
                f"n_samples must be a non-negative integer, got {n_samples!r}."
            )
        if n_samples < 0:
            raise ValueError(
                f"n_samples must be a non-negative integer, got {n_samples}."
            )
        if method not in SAMPLING_METHODS:
            raise ValueError(
                f"method must be one of {list(SAMPLING_METHODS)}, got {method!r}."
            )

        if method == "cached":
            sampler = functools.partial(sample_member_cached, n_jobs=self.n_jobs)
        else:
            sampler = sample_member_naive
        network = self._network
        return sample_network(network, int(n_samples), random_state, sampler)
