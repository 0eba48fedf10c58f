"""The masked network: parameters, forward pass and analytic backward pass.

The parameters of a network with L hidden layers are two lists: ``weights``
(W_1..W_L of shape (n_in, n_out), the output weights V of shape (H_L, D * P) and,
with direct connections, A of shape (D, D * P)) and ``biases`` (b_1..b_L and the
output bias c). Each weight has a mask of its own shape; products use the masked
weights ``W * M``. Inputs and outputs are in canonical order (see ``_masks``),
and output column ``d * P + p`` is parameter p of the conditional of input d.
"""

import numpy as np
from scipy.special import expit

ACTIVATIONS = ("relu", "tanh", "sigmoid")


def activate(a, activation):
    """Apply the activation to pre-activations ``a`` in place and return them."""
    if activation == "relu":
        return np.maximum(a, 0, out=a)
    if activation == "tanh":
        return np.tanh(a, out=a)
    return expit(a, out=a)


def activation_slope(h, activation):
    """Derivative of the activation, written in terms of its output ``h``."""
    if activation == "relu":
        return (h > 0).astype(h.dtype)
    if activation == "tanh":
        return 1 - h * h
    return h * (1 - h)


def init_params(layer_sizes, n_features, n_params, direct, dtype, rng):
    """Draw initial parameters with Glorot-uniform weights and zero biases.

    Returns
    -------
    weights, biases : list of ndarray
    """
    sizes = [n_features, *layer_sizes, n_features * n_params]
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        biases.append(np.zeros(fan_out, dtype=dtype))
    if direct:
        bound = np.sqrt(6.0 / (n_features + sizes[-1]))
        weights.append(
            rng.uniform(-bound, bound, (n_features, sizes[-1])).astype(dtype)
        )
    return weights, biases


def apply_masks(weights, masks):
    """Masked weights ``W * M`` for every weight matrix."""
    return [W * M for W, M in zip(weights, masks)]


def forward(products, biases, X, activation):
    """Run the network on ``X``.

    Parameters
    ----------
    products : DenseProducts or StaircaseProducts
        The masked products of the weights (see ``_products``).
    biases : list of ndarray
        In the coordinates of ``products``.
    X : ndarray of shape (n_samples, n_features)
        Inputs in the coordinates of ``products``, in the dtype of the weights.
    activation : {"relu", "tanh", "sigmoid"}

    Returns
    -------
    out : ndarray of shape (n_samples, n_features * n_params)
        Parameters of every conditional.
    hidden : list of ndarray
        The input followed by the output of every hidden layer, for backward.
    """
    n_layers = len(biases) - 1
    hidden = [X]
    h = X
    for layer in range(n_layers):
        a = products.forward(h, layer)
        a += biases[layer]
        h = activate(a, activation)
        hidden.append(h)

    out = products.forward(h, n_layers)
    out += biases[n_layers]
    if len(products.masked) > n_layers + 1:
        products.forward(X, n_layers + 1, out=out)
    return out, hidden


def backward(products, hidden, d_out, activation):
    """Gradients of a loss with respect to every parameter.

    Parameters
    ----------
    products : DenseProducts or StaircaseProducts
    hidden : list of ndarray
        As returned by :func:`forward`.
    d_out : ndarray of shape (n_samples, n_features * n_params)
        Gradient of the loss with respect to the output of :func:`forward`.
    activation : {"relu", "tanh", "sigmoid"}

    Returns
    -------
    grad_weights, grad_biases : list of ndarray
        In the order and coordinates of the products and biases; weight
        gradients are zero outside their masks.
    """
    n_layers = len(hidden) - 1
    grad_weights = [None] * len(products.masked)
    grad_biases = [None] * (n_layers + 1)

    grad_weights[n_layers] = products.grad_weight(hidden[-1], d_out, n_layers)
    grad_biases[n_layers] = d_out.sum(axis=0)
    if len(products.masked) > n_layers + 1:
        grad_weights[n_layers + 1] = products.grad_weight(
            hidden[0], d_out, n_layers + 1
        )

    d_h = products.grad_input(d_out, n_layers)
    for layer in range(n_layers - 1, -1, -1):
        d_a = d_h * activation_slope(hidden[layer + 1], activation)
        grad_weights[layer] = products.grad_weight(hidden[layer], d_a, layer)
        grad_biases[layer] = d_a.sum(axis=0)
        if layer > 0:
            d_h = products.grad_input(d_a, layer)
    return grad_weights, grad_biases
