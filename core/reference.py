"""Backpropagation as Nielsen's book writes it, vectorised over a mini-batch.

Columns are examples, as in the book: a layer's activations ``a[l]`` form a (units, m)
array, ``z[l] = w[l] @ a[l-1] + b[l]`` and ``a[l] = f(z[l])``. Then, for the m examples
of a batch with one-hot targets y:

    BP1  delta[L] = grad_a C * f'(z[L])                    the output layer's error
    BP2  delta[l] = (w[l+1].T @ delta[l+1]) * f'(z[l])     the error, one layer down
    BP3  dC/db[l] = delta[l] summed over the batch
    BP4  dC/dw[l] = delta[l] @ a[l-1].T

and both sums are divided by m for the gradient of the batch-mean cost.

This is the readable definition: ``Net.gradients`` uses it, and the tests hold the fast
training engine (``core.backprop``, which keeps other layouts and fuses the optimiser's
step) equal to it. It is not written for speed.
"""
import numpy as np


def sigmoid(z):
    """1 / (1 + e^-z), written as 0.5 (1 + tanh(z / 2)): the same function, without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh_prime(z):
    return 1.0 - np.tanh(z) ** 2


def relu(z):
    return np.maximum(z, 0.0)


def relu_prime(z):
    return (z > 0).astype(z.dtype)


def softmax(z):
    """Each column's exp(z) / sum(exp(z)), shifted by the column's maximum so exp cannot overflow."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


HIDDEN = {"sigmoid": (sigmoid, sigmoid_prime), "tanh": (np.tanh, tanh_prime), "relu": (relu, relu_prime)}
"""Each hidden activation f with its derivative f'."""


def feedforward(net, X):
    """(zs, activations) of every layer for the rows of X; activations[0] is the input, as columns."""
    f = HIDDEN[net.hidden][0]
    activation = np.asarray(X, dtype=net.dtype).T
    activations, zs = [activation], []
    last = len(net.weights) - 1
    for layer, (w, b) in enumerate(zip(net.weights, net.biases)):
        z = w @ activation + b[:, None]
        if layer < last:
            activation = f(z)
        else:
            activation = softmax(z) if net.output == "softmax" else sigmoid(z)
        zs.append(z)
        activations.append(activation)
    return zs, activations


def output_error(net, z, a, y):
    """BP1: delta[L], the derivative of each example's cost with respect to z[L]."""
    if net.cost == "cross_entropy":
        return a - y  # for sigmoid outputs (the book's eq. 66) and softmax with log-likelihood alike
    if net.output == "sigmoid":
        return (a - y) * sigmoid_prime(z)
    # quadratic cost after a softmax: every output depends on every z, so grad_a C goes
    # through the softmax's Jacobian diag(a) - a a.T
    grad_a = a - y
    return a * (grad_a - (a * grad_a).sum(axis=0, keepdims=True))


def backprop(net, X, labels):
    """(nabla_w, nabla_b): gradients of the batch-mean cost over the rows of X, without regularisation."""
    f_prime = HIDDEN[net.hidden][1]
    zs, activations = feedforward(net, X)
    m = activations[0].shape[1]
    y = np.eye(net.sizes[-1], dtype=net.dtype)[np.asarray(labels)].T
    nabla_w, nabla_b = [None] * len(net.weights), [None] * len(net.biases)
    delta = output_error(net, zs[-1], activations[-1], y)  # BP1
    for layer in range(len(net.weights) - 1, -1, -1):
        if layer < len(net.weights) - 1:
            delta = (net.weights[layer + 1].T @ delta) * f_prime(zs[layer])  # BP2
        nabla_b[layer] = delta.sum(axis=1) / m  # BP3
        nabla_w[layer] = delta @ activations[layer].T / m  # BP4
    return nabla_w, nabla_b
