"""The training loop: minibatch Adam on the negative log-likelihood.

Connectivity-agnostic training cycles the mask members over minibatches, so
every member sees an equal share of the updates. Early stopping watches the
ensemble's validation log-likelihood and keeps the best weights.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from ._adam import Adam
from ._network import backward, forward
from ._products import MemberProducts


@dataclass
class TrainingHistory:
    """What the loop records: one entry per epoch."""

    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_validation_score: float = -np.inf
    n_iter: int = 0
    converged: bool = False


def objective(network, member, X_batch, alpha):
    """Penalised mean NLL of a minibatch for one member, and its gradients.

    Returns
    -------
    loss : float
        Mean NLL plus the L2 penalty ``0.5 * alpha * |W|^2 / n_rows``, scaled
        as in scikit-learn's MLP.
    nll : float
        Mean NLL alone, in nats per row.
    grads : list of ndarray
        Gradients of ``loss`` in the order ``weights + biases``.
    """
    member_products = MemberProducts(network, member, network.masked_product)
    products = member_products.products
    X = member_products.inputs(X_batch)
    out, hidden = forward(products, member_products.biases, X, network.activation)

    n_rows = X.shape[0]
    conditional = network.conditional
    nll = -float(conditional.log_prob(X, out).sum()) / n_rows
    d_out = conditional.grad(X, out)
    d_out /= n_rows
    grad_weights, grad_biases = backward(products, hidden, d_out, network.activation)

    penalty = 0.0
    for grad, weight in zip(grad_weights, products.masked):
        grad += (alpha / n_rows) * weight
        penalty += 0.5 * alpha * float(np.vdot(weight, weight)) / n_rows
    return (
        nll + penalty,
        nll,
        member_products.stored_gradients(grad_weights, grad_biases),
    )


def train(
    network,
    X_train,
    X_valid,
    *,
    alpha,
    batch_size,
    learning_rate_init,
    max_iter,
    tol,
    n_iter_no_change,
    rng,
    verbose,
    name,
):
    """Train ``network`` in place.

    Parameters
    ----------
    network : MADENetwork
    X_train : ndarray of shape (n_samples, n_features)
        Canonical-order training inputs in the network's dtype.
    X_valid : ndarray or None
        Validation inputs for early stopping; None stops on the training loss.
    alpha, batch_size, learning_rate_init, max_iter, tol, n_iter_no_change :
        As in :class:`fastmade.MADEEstimator`.
    rng : numpy.random.RandomState
        Shuffles the minibatches.
    verbose : int
    name : str
        Shown at the start of each verbose line.

    Returns
    -------
    history : TrainingHistory
    """
    network.forget_sorted()
    params = network.weights + network.biases
    optimiser = Adam(params, learning_rate_init)
    history = TrainingHistory()
    best_params = None
    best_loss = np.inf
    stale = 0
    n_rows = X_train.shape[0]
    step = 0

    for epoch in range(1, max_iter + 1):
        start = time.perf_counter()
        order = rng.permutation(n_rows)
        total = 0.0
        for begin in range(0, n_rows, batch_size):
            rows = order[begin : begin + batch_size]
            member = step % network.n_masks
            _, nll, grads = objective(network, member, X_train[rows], alpha)
            if not np.isfinite(nll):
                raise ValueError(
                    f"training diverged: the loss became {nll} in epoch {epoch}. "
                    "Lower learning_rate_init, or raise alpha."
                )
            optimiser.step(grads)
            total += nll * len(rows)
            step += 1
        history.loss_curve.append(total / n_rows)
        history.n_iter = epoch

        if X_valid is not None:
            score = float(network.log_likelihood(X_valid).mean())
            history.validation_scores.append(score)
            improved = score > history.best_validation_score + tol
            if score > history.best_validation_score:
                history.best_validation_score = score
                best_params = [p.copy() for p in params]
        else:
            improved = history.loss_curve[-1] < best_loss - tol
            best_loss = min(best_loss, history.loss_curve[-1])
        stale = 0 if improved else stale + 1

        if verbose:
            valid = f", valid NLL {-score:.4f}" if X_valid is not None else ""
            print(
                f"{name}: epoch {epoch}, train NLL {history.loss_curve[-1]:.4f}"
                f"{valid}, {time.perf_counter() - start:.2f} s"
            )
        if stale >= n_iter_no_change:
            history.converged = True
            break

    if best_params is not None:
        for p, best in zip(params, best_params):
            p[...] = best
    return history
