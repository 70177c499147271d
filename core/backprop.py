"""Vectorised forward and backward passes over a mini-batch into preallocated buffers.

One ``Backprop`` serves a whole training run: every batch reuses the same input,
target, activation, delta and gradient arrays (and the same views of them), so
the hot loop allocates almost nothing and makes as few NumPy calls as it can:

* ``forward(X)`` writes every layer's activations; hidden sigmoids are computed
  as 0.5 tanh(z/2) + 0.5 (fast, and safe for any z).
* ``error(Y)`` writes a - y for one-hot targets Y and returns the batch's *summed*
  cost, computed stably from the scores for cross-entropy.
* ``propagate(X, scale)`` turns that error into gradients of ``scale`` times the
  summed cost: scale 1/m gives the gradient of the batch-mean cost; training
  with plain SGD passes -eta/m, so the buffers hold the update step itself.
"""
import numpy as np

from .activations import HIDDEN, sigmoid_via_tanh


class _Views:
    """The first m rows of every per-example buffer (made once per batch size)."""

    def __init__(self, engine, m):
        self.inputs = engine.inputs[:m]
        self.targets = engine.targets[:m]
        self.activations = [a[:m] for a in engine.activations]
        self.deltas = [d[:m] for d in engine.deltas]
        self.derivatives = [d[:m] for d in engine.derivatives]
        self.scores = engine.scores[:m]
        self.row_max = engine.row_max[:m]
        self.row_sum = engine.row_sum[:m]
        self.scratch = engine.scratch[:m]


class Backprop:
    def __init__(self, net, batch_size):
        dtype = net.dtype
        sizes = net.sizes
        classes = sizes[-1]
        self.net = net
        self.batch_size = batch_size
        self.hidden = HIDDEN[net.hidden]
        self.inputs = np.empty((batch_size, sizes[0]), dtype)  # gathered mini-batch rows
        self.targets = np.empty((batch_size, classes), dtype)  # one-hot labels
        self.activations = [np.empty((batch_size, n), dtype) for n in sizes[1:]]
        self.deltas = [np.empty((batch_size, n), dtype) for n in sizes[1:]]
        self.derivatives = [np.empty((batch_size, n), dtype) for n in sizes[1:-1]]
        self.scores = np.empty((batch_size, classes), dtype)
        self.row_max = np.empty((batch_size, 1), dtype)  # softmax: max score of each row
        self.row_sum = np.empty((batch_size, 1), dtype)  # softmax: sum of exp(z - max)
        self.scratch = np.empty((batch_size, classes), dtype)
        self.grad_w = [np.empty_like(w) for w in net.weights]
        self.grad_b = [np.empty_like(b) for b in net.biases]
        self.grads = self.grad_w + self.grad_b  # the same arrays, in the optimisers' order
        self.identity = np.eye(classes, dtype=dtype)
        self._views = {}
        self._m = 0
        self._view = None

    def views(self, m):
        if m != self._m:
            view = self._views.get(m)
            if view is None:
                if not 0 < m <= self.batch_size:
                    raise ValueError(f"a batch of {m} examples does not fit buffers for {self.batch_size}")
                view = self._views[m] = _Views(self, m)
            self._m, self._view = m, view
        return self._view

    def forward(self, X):
        """Output activations for the m rows of X (a view into the buffers)."""
        v = self.views(len(X))
        net = self.net
        weights, biases = net.weights, net.biases
        last = len(weights) - 1
        hidden = self.hidden.forward
        a = X
        for layer in range(last):
            z = v.activations[layer]
            np.matmul(a, weights[layer].T, out=z)
            z += biases[layer]
            a = hidden(z, out=z)
        z = v.scores
        np.matmul(a, weights[last].T, out=z)
        z += biases[last]
        out = v.activations[last]
        if net.output == "softmax":
            np.maximum.reduce(z, axis=1, keepdims=True, out=v.row_max)
            np.subtract(z, v.row_max, out=out)
            np.exp(out, out=out)
            np.add.reduce(out, axis=1, keepdims=True, out=v.row_sum)
            return np.divide(out, v.row_sum, out=out)
        return sigmoid_via_tanh(z, out=out)

    def error(self, Y):
        """Write a - Y (one-hot Y) into the output delta buffer; return the batch's summed cost.

        Call after ``forward`` on the same batch. The cost is NaN or infinite when the
        network has diverged.
        """
        v = self.views(len(Y))
        net = self.net
        a, d = v.activations[-1], v.deltas[-1]
        np.subtract(a, Y, out=d)
        if net.cost == "quadratic":
            return 0.5 * float(np.vdot(d, d))
        z = v.scores
        if net.output == "softmax":  # -ln a_label = ln Σ exp(z - max) + max - z_label
            np.log(v.row_sum, out=v.row_sum)
            return (float(np.add.reduce(v.row_sum, axis=None)) + float(np.add.reduce(v.row_max, axis=None))
                    - float(np.vdot(z, Y)))
        # sigmoid cross-entropy: Σ softplus(z) - z_label
        np.logaddexp(0.0, z, out=v.scratch)
        return float(np.add.reduce(v.scratch, axis=None)) - float(np.vdot(z, Y))

    def propagate(self, X, scale):
        """Gradients of ``scale`` x the summed cost, from the error left by ``error``.

        Returns the (grad_w, grad_b) buffers.
        """
        v = self.views(len(X))
        net = self.net
        weights = net.weights
        acts = v.activations
        delta = v.deltas[-1]
        if net.cost == "quadratic":  # multiply a - y by the output activation's derivative
            a, tmp = acts[-1], v.scratch
            if net.output == "sigmoid":
                np.subtract(1.0, a, out=tmp)
                tmp *= a
            else:  # softmax: the Jacobian diag(a) - a a^T
                np.multiply(a, delta, out=tmp)
                np.add.reduce(tmp, axis=1, keepdims=True, out=v.row_max)
                delta -= v.row_max
                tmp = a
            delta *= tmp
        delta *= scale
        grad_w, grad_b = self.grad_w, self.grad_b
        hidden_grad = self.hidden.grad
        for layer in range(len(weights) - 1, -1, -1):
            below_acts = acts[layer - 1] if layer > 0 else X
            np.matmul(delta.T, below_acts, out=grad_w[layer])
            np.add.reduce(delta, axis=0, out=grad_b[layer])
            if layer > 0:
                below = v.deltas[layer - 1]
                np.matmul(delta, weights[layer], out=below)
                below *= hidden_grad(below_acts, out=v.derivatives[layer - 1])
                delta = below
        return grad_w, grad_b

    def backward(self, X, labels):
        """Gradients of the batch-mean cost after ``forward(X)``; returns the (grad_w, grad_b) buffers."""
        m = len(X)
        v = self.views(m)
        np.take(self.identity, labels, axis=0, out=v.targets)
        self.error(v.targets)
        return self.propagate(X, 1.0 / m)
