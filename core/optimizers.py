"""Parameter updates (SGD, momentum, Adam) done in place, and learning-rate schedules.

L2 weight decay follows Nielsen's book: the cost gains (λ / 2n) Σw², so each
step adds (λ / n)·w to the weight gradient (biases are not decayed).
"""
import math

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "step", "cosine")


DIRECT_MIN_SIZE = 50_000
"""Weight matrices at least this big take their step inside the gradient's matrix
product when the engine can (see ``core._gemm``); below it the call costs more than
the pass it saves."""


class _Optimizer:
    """Updates ``params`` (weights, then biases) in place from gradient buffers.

    ``step(grads, eta)`` takes the gradients of the batch-mean cost. Optimisers with
    ``takes_steps`` also offer ``apply(steps, eta, done)``, which takes -eta x those
    gradients (what ``Backprop.propagate`` computes with scale -eta/m), saving a
    pass over every weight matrix, and ``direct(eta)``: per weight matrix, None or
    the (target, beta) into which the engine may add the step itself, in which
    case ``done[i]`` is True and ``apply`` finishes the update without that step.
    """

    takes_steps = False

    def __init__(self, weights, biases, l2):
        self.params = list(weights) + list(biases)
        self.n_weights = len(weights)
        self.decayed = [True] * len(weights) + [False] * len(biases)
        self.l2 = float(l2)
        self.scratch = [np.empty_like(p) for p in self.params]

    def _gradient(self, index, grad):
        """Gradient with weight decay added, in a scratch buffer when decay applies."""
        if self.l2 and self.decayed[index]:
            out = self.scratch[index]
            np.multiply(self.params[index], self.l2, out=out)
            out += grad
            return out
        return grad

    def step(self, grads, eta):
        raise NotImplementedError


class _StepOptimizer(_Optimizer):
    """An update that can take the step -eta g precomputed (``apply``), even already
    added into its target by the gradient's own matrix product (``direct``)."""

    takes_steps = True

    def step(self, grads, eta):
        eta = float(eta)
        for i, (param, grad) in enumerate(zip(self.params, grads)):
            out = self.scratch[i]
            np.multiply(grad, -eta, out=out)
            self._apply(i, param, out, eta)


class SGD(_StepOptimizer):
    """w <- w - eta (g + l2 w), computed as w <- (1 - eta l2) w - eta g as in Nielsen's book."""

    def direct(self, eta):
        decay = 1.0 - float(eta) * self.l2
        return [(w, decay) if w.size >= DIRECT_MIN_SIZE else None for w in self.params[:self.n_weights]]

    def apply(self, steps, eta, done=()):
        eta = float(eta)
        for i, (param, step) in enumerate(zip(self.params, steps)):
            if i < len(done) and done[i]:
                continue  # (1 - eta l2) w + step is already in w
            self._apply(i, param, step, eta)

    def _apply(self, i, param, step, eta):
        if self.l2 and self.decayed[i]:
            param *= 1.0 - eta * self.l2
        param += step


class Momentum(_StepOptimizer):
    """v <- momentum v - eta (g + l2 w); w <- w + v."""

    def __init__(self, weights, biases, l2, momentum=0.9):
        super().__init__(weights, biases, l2)
        self.momentum = float(momentum)
        self.velocity = [np.zeros_like(p) for p in self.params]

    def direct(self, eta):
        return [(v, self.momentum) if v.size >= DIRECT_MIN_SIZE else None
                for v in self.velocity[:self.n_weights]]

    def apply(self, steps, eta, done=()):
        eta = float(eta)
        for i, (param, step) in enumerate(zip(self.params, steps)):
            self._apply(i, param, None if i < len(done) and done[i] else step, eta)

    def _apply(self, i, param, step, eta):
        v = self.velocity[i]
        if step is not None:  # else momentum v + step is already in v
            v *= self.momentum
            v += step
        if self.l2 and self.decayed[i]:
            decay = np.multiply(param, eta * self.l2, out=self.scratch[i])
            v -= decay
        param += v


class Adam(_Optimizer):
    def __init__(self, weights, biases, l2, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(weights, biases, l2)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, grads, eta):
        eta = float(eta)
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = eta * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        for i, (param, grad) in enumerate(zip(self.params, grads)):
            g = self._gradient(i, grad)
            m, v, tmp = self.m[i], self.v[i], self.scratch[i]
            # g may be tmp itself (weight decay writes g into the scratch buffer), so g is read
            # only once: tmp = (1 - b1) g, and (1 - b2) g^2 is derived from that tmp
            m *= b1
            np.multiply(g, 1.0 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(tmp, tmp, out=tmp)
            tmp *= (1.0 - b2) / (1.0 - b1) ** 2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            param -= tmp


def make_optimizer(name, weights, biases, l2=0.0, momentum=0.9):
    if name == "sgd":
        return SGD(weights, biases, l2)
    if name == "momentum":
        return Momentum(weights, biases, l2, momentum)
    if name == "adam":
        return Adam(weights, biases, l2)
    raise ValueError(f"unknown optimiser {name!r}; choose one of: {', '.join(OPTIMIZERS)}")


def learning_rate(schedule, eta, epoch, epochs, step_size=10, gamma=0.5):
    """Learning rate for ``epoch`` (0-based) of a run of ``epochs``.

    "step" multiplies eta by gamma every step_size epochs; "cosine" anneals from
    eta down to 1% of eta over the run.
    """
    if schedule == "constant":
        return eta
    if schedule == "step":
        return eta * gamma ** (epoch // step_size)
    if schedule == "cosine":
        floor = 0.01 * eta
        progress = epoch / max(epochs - 1, 1)
        return floor + 0.5 * (eta - floor) * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; choose one of: {', '.join(SCHEDULES)}")
