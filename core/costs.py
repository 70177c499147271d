"""Output layers and cost functions.

Costs are per example, as in Nielsen's book, and averaged over a batch:
quadratic ½‖a − y‖²; cross-entropy with sigmoid outputs −Σ[y ln a + (1 − y) ln(1 − a)];
with softmax outputs −ln a_label.
"""
import numpy as np

from .activations import sigmoid, softmax


def output_activation(output, z, out=None):
    """Apply the output layer's activation ("sigmoid" or "softmax") to scores z."""
    return softmax(z, out=out) if output == "softmax" else sigmoid(z, out=out)


def mean_cost(output, cost, z, a, labels):
    """Batch-mean cost from the output scores z and activations a (stable logs from z)."""
    n = len(labels)
    rows = np.arange(n)
    if cost == "quadratic":
        diff = a.astype(np.float64, copy=True)
        diff[rows, labels] -= 1.0
        return float(0.5 * np.einsum("ij,ij->", diff, diff) / n)
    z = z.astype(np.float64, copy=False)
    if output == "softmax":
        shifted = z - z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1))
        return float(np.sum(log_norm - shifted[rows, labels]) / n)
    # sigmoid cross-entropy: -[y ln s(z) + (1-y) ln(1-s(z))] = softplus(z) - y z
    total = np.logaddexp(0.0, z).sum() - z[rows, labels].sum()
    return float(total / n)


def class_probabilities(output, a):
    """Outputs as probabilities: softmax as is, sigmoid outputs normalised to sum to 1."""
    if output == "softmax":
        return a
    total = a.sum(axis=1, keepdims=True)
    return a / np.maximum(total, np.finfo(a.dtype).tiny)


def log_probability_delta(output, a, targets):
    """d log p_target / dz for each row, where p is ``class_probabilities``."""
    rows = np.arange(len(targets))
    if output == "softmax":
        delta = -a.copy()
        delta[rows, targets] += 1.0
        return delta
    total = a.sum(axis=1, keepdims=True)
    d_a = np.broadcast_to(-1.0 / total, a.shape).copy()
    d_a[rows, targets] += 1.0 / np.maximum(a[rows, targets], np.finfo(a.dtype).tiny)
    return d_a * a * (1.0 - a)
