"""Vectorised forward and backward passes over a mini-batch into preallocated buffers.

One ``Backprop`` serves a whole training run: every batch reuses the same input,
activation, delta and gradient arrays (and the same views of them), so
the hot loop allocates nothing and makes few NumPy calls:

* ``forward(X)`` computes the layers. Hidden layers are kept transposed, as
  (units, m) arrays, which BLAS multiplies faster for wide layers; hidden
  sigmoids are computed as 0.5 tanh(z/2) + 0.5 (fast, and safe for any z).
* ``error(Y)`` writes a - y for one-hot targets Y and returns the batch's *summed*
  cost (stable from the scores for cross-entropy): the running cost and the
  divergence check cost one or two BLAS calls.
* ``propagate(X, scale, direct)`` turns that error into gradients of ``scale``
  times the summed cost. Scale 1/m gives the gradient of the batch-mean cost
  (what ``core.reference`` computes); training with SGD or momentum passes
  -eta/m, so the buffers hold the step itself, and for large weight matrices
  the step is added straight into the weights (or velocities) by the gradient's
  own matrix product (see ``core._gemm``).
"""
import numpy as np

from ._gemm import find_gemm
from .activations import HIDDEN, sigmoid_via_tanh


_DIRECT_MIN_OUTPUT = 16384  # hidden-layer outputs (units x batch) worth a direct gemm call


def _no_gemm(*args):
    return False


class _Views:
    """Buffers for batches of m examples: rows of the shared buffers, and
    contiguous hidden-layer arrays of their own (stored transposed)."""

    def __init__(self, engine, m):
        dtype = engine.dtype
        hidden = engine.sizes[1:-1]
        self.scores = engine.scores[:m]
        self.outputs = engine.outputs[:m]
        self.delta = engine.delta[:m]
        self.row_max = engine.row_max[:m]
        self.row_sum = engine.row_sum[:m]
        self.scratch = engine.scratch[:m]
        self.ones = engine.ones[:m]
        self.delta_columns = np.empty((engine.sizes[-1], m), dtype)  # delta transposed
        # hidden layers as (units, m): activations, deltas and activation derivatives
        self.hidden = [np.empty((n, m), dtype) for n in hidden]
        self.hidden_deltas = [np.empty((n, m), dtype) for n in hidden]
        self.derivatives = [np.empty((n, m), dtype) for n in hidden]


class Backprop:
    def __init__(self, net, batch_size):
        dtype = net.dtype
        sizes = net.sizes
        classes = sizes[-1]
        self.net = net
        self.dtype = dtype
        self.sizes = sizes
        self.batch_size = batch_size
        self.hidden = HIDDEN[net.hidden]
        self.inputs = np.empty((batch_size, sizes[0]), dtype)  # gathered mini-batch rows
        self.scores = np.empty((batch_size, classes), dtype)  # output layer z
        self.outputs = np.empty((batch_size, classes), dtype)  # output layer activations
        self.delta = np.empty((batch_size, classes), dtype)  # output layer error, then dC/dz
        self.row_max = np.empty((batch_size, 1), dtype)  # softmax: max score of each row
        self.row_sum = np.empty((batch_size, 1), dtype)  # softmax: sum of exp(z - max)
        self.scratch = np.empty((batch_size, classes), dtype)
        self.ones = np.ones(batch_size, dtype)  # bias gradients as matrix-vector products (BLAS sums fast)
        self.grad_w = [np.empty_like(w) for w in net.weights]
        self.grad_b = [np.empty_like(b) for b in net.biases]
        self.grads = self.grad_w + self.grad_b  # the same arrays, in the optimisers' order
        self.identity = np.eye(classes, dtype=dtype)
        self.direct_done = [False] * len(net.weights)
        self._half_biases = [np.empty_like(b) for b in net.biases[:-1]]
        self._gemm = find_gemm() or _no_gemm
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
        """Output activations (m, classes) for the m rows of X (a view into the buffers).

        Hidden layers are computed transposed, z^T = W a^T (units x m): with BLAS that
        is faster than a W^T for wide layers, and the backward pass uses the same layout.
        """
        v = self.views(len(X))
        net = self.net
        weights, biases = net.weights, net.biases
        last = len(weights) - 1
        a_t = X.T
        for layer in range(last):
            a_t = self._hidden_layer(weights[layer], biases[layer], a_t, v.hidden[layer], layer)
        z = v.scores
        np.matmul(a_t.T, weights[last].T, out=z)
        z += biases[last]
        out = v.outputs
        if net.output == "softmax":
            np.maximum.reduce(z, axis=1, keepdims=True, out=v.row_max)
            np.subtract(z, v.row_max, out=out)
            np.exp(out, out=out)
            np.add.reduce(out, axis=1, keepdims=True, out=v.row_sum)
            return np.divide(out, v.row_sum, out=out)
        return sigmoid_via_tanh(z, out=out)

    def _hidden_layer(self, w, b, a_t, z_t, layer):
        """f(W a^T + b) into z_t (units x m). Large layers go through the direct gemm:
        z_t is filled with the bias and the product added in (beta = 1), and for
        sigmoids the product is halved on the way (alpha = 0.5) for tanh(z / 2)."""
        if z_t.size >= _DIRECT_MIN_OUTPUT and self._gemm is not _no_gemm:
            half = self.hidden.name == "sigmoid"
            bias = np.multiply(b, 0.5, out=self._half_biases[layer]) if half else b
            np.copyto(z_t, bias[:, None])
            if self._gemm(w, a_t, z_t, 0.5 if half else 1.0, 1.0):
                if not half:
                    return self.hidden.forward(z_t, out=z_t)
                np.tanh(z_t, out=z_t)  # sigmoid(z) = 0.5 tanh(z / 2) + 0.5
                z_t *= 0.5
                z_t += 0.5
                return z_t
        np.matmul(w, a_t, out=z_t)
        z_t += b[:, None]
        return self.hidden.forward(z_t, out=z_t)

    def error(self, Y):
        """Write a - Y (one-hot Y) into the output delta buffer; return the batch's summed cost.

        Call after ``forward`` on the same batch. The cost is NaN or infinite when the
        network has diverged.
        """
        v = self.views(len(Y))
        net = self.net
        a, d = v.outputs, v.delta
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

    def propagate(self, X, scale, direct=None):
        """Gradients of ``scale`` x the summed cost, from the error left by ``error``.

        Returns the (grad_w, grad_b) buffers. ``direct`` may give, per weight matrix,
        None or (target, beta): the product then goes straight into the target,
        target <- gradient + beta x target, through the direct BLAS call of
        ``core._gemm`` (an optimiser's step without a pass of its own), and
        ``direct_done[layer]`` is True; grad_w[layer] is then not written.
        A layer's weights are used for the delta below before its target is written.
        """
        v = self.views(len(X))
        net = self.net
        weights = net.weights
        delta = v.delta
        if net.cost == "quadratic":  # multiply a - y by the output activation's derivative
            a, tmp = v.outputs, v.scratch
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
        step = self._weight_step
        last = len(weights) - 1
        np.matmul(v.ones, delta, out=grad_b[last])
        if last == 0:
            step(0, delta.T, X, direct)
            return grad_w, grad_b
        hidden_grad = self.hidden.grad
        acts = v.hidden
        delta_t = v.hidden_deltas[-1]  # (units, m) from here down
        if delta_t.size >= _DIRECT_MIN_OUTPUT:  # BLAS is faster with the transposed delta contiguous
            np.copyto(v.delta_columns, delta.T)
            np.matmul(weights[last].T, v.delta_columns, out=delta_t)
        else:
            np.matmul(weights[last].T, delta.T, out=delta_t)
        delta_t *= hidden_grad(acts[-1], out=v.derivatives[-1])
        step(last, delta.T, acts[-1].T, direct)
        for layer in range(last - 1, -1, -1):
            np.matmul(delta_t, v.ones, out=grad_b[layer])
            if layer == 0:
                step(0, delta_t, X, direct)
                break
            below = v.hidden_deltas[layer - 1]
            np.matmul(weights[layer].T, delta_t, out=below)
            below *= hidden_grad(acts[layer - 1], out=v.derivatives[layer - 1])
            step(layer, delta_t, acts[layer - 1].T, direct)
            delta_t = below
        return grad_w, grad_b

    def _weight_step(self, layer, left, right, direct):
        target = direct[layer] if direct is not None else None
        done = target is not None and self._gemm(left, right, target[0], 1.0, target[1])
        if not done:
            np.matmul(left, right, out=self.grad_w[layer])
        self.direct_done[layer] = done
