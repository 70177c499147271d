"""``Net``: a fully connected feed-forward network of any depth, trained by backpropagation."""
import copy as _copy
import datetime as _dt

import numpy as np

from . import modelfile, reference
from .activations import HIDDEN
from .costs import class_probabilities, log_probability_delta, mean_cost, output_activation
from .training import as_arrays, fit
from .validation import check_architecture, check_sizes, parameter_count

DEFAULT_SAVE_PATH = modelfile.MODELS_DIR / "network.npz"
_EVAL_CHUNK = 2000


def confusion_counts(labels, predicted, classes=10):
    """counts[true, predicted] of two integer label arrays."""
    return np.bincount(np.asarray(labels) * classes + np.asarray(predicted),
                       minlength=classes * classes).reshape(classes, classes)


class _LoadMethod:
    """``Net.load(path)`` returns a new network; ``net.load(path)`` loads into ``net`` (as the original did)."""

    def __get__(self, instance, owner):
        def load(path=None):
            loaded = modelfile.read_net(owner, DEFAULT_SAVE_PATH if path is None else path)
            if instance is None:
                return loaded
            instance.__dict__.update(loaded.__dict__)
            return instance

        return load


class Net:
    """A network with layer sizes ``sizes``, e.g. ``Net([784, 30, 10])``.

    ``weights[l]`` has shape (sizes[l+1], sizes[l]) and ``biases[l]`` sizes[l+1] values.
    The defaults (sigmoid everywhere, quadratic cost, N(0, 1) initialisation) are the
    original project's, so ``Net([784, 30, 10]).train(training_data, 3.0)`` behaves like it.
    """

    load = _LoadMethod()

    def __init__(self, sizes, hidden="sigmoid", output="sigmoid", cost="quadratic", init="normal",
                 seed=None, dtype=np.float32):
        self.sizes = check_sizes(sizes)
        check_architecture(hidden, output, cost, init)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.hidden, self.output, self.cost, self.init = hidden, output, cost, init
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.weights, self.biases = self._initial_parameters()
        self.history = []
        self.test_accuracy = None
        self.created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")

    def _initial_parameters(self):
        weights, biases = [], []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            if self.init == "normal":
                w = self.rng.standard_normal((n_out, n_in))
                b = self.rng.standard_normal(n_out)
            elif self.init == "scaled":  # Nielsen's chapter-3 initialisation
                w = self.rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
                b = self.rng.standard_normal(n_out)
            else:
                std = np.sqrt(2.0 / (n_in + n_out)) if self.init == "xavier" else np.sqrt(2.0 / n_in)
                w = self.rng.standard_normal((n_out, n_in)) * std
                b = np.zeros(n_out)
            weights.append(w.astype(self.dtype))
            biases.append(b.astype(self.dtype))
        return weights, biases

    def __repr__(self):
        return (f"Net({self.sizes}, hidden={self.hidden!r}, output={self.output!r}, cost={self.cost!r}, "
                f"epochs={len(self.history)})")

    @property
    def n_parameters(self):
        return parameter_count(self.sizes)

    # ----- parameters -------------------------------------------------------------------
    def copy_parameters(self):
        return [w.copy() for w in self.weights], [b.copy() for b in self.biases]

    def copy(self):
        """An independent copy: its own parameters and history, so it can be read while this one trains."""
        twin = _copy.copy(self)
        twin.weights, twin.biases = self.copy_parameters()
        twin.history = [dict(entry) for entry in self.history]
        twin.rng = _copy.deepcopy(self.rng)
        return twin

    def set_parameters(self, parameters):
        """Copy saved (weights, biases) back into the network's own arrays."""
        for target, source in zip(self.weights + self.biases, parameters[0] + parameters[1]):
            np.copyto(target, source)

    def parameters_finite(self):
        return all(np.isfinite(p).all() for p in self.weights + self.biases)

    # ----- forward and backward ---------------------------------------------------------
    def _forward(self, X):
        """(activations of every layer including the input, output scores z)."""
        acts = [X]
        hidden = HIDDEN[self.hidden]
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = acts[-1] @ w.T
            z += b
            if layer < len(self.weights) - 1:
                acts.append(hidden.forward(z, out=z))
        acts.append(output_activation(self.output, z.copy()))
        return acts, z

    def _input(self, X):
        X = np.asarray(X, dtype=self.dtype)
        if X.size == self.sizes[0] or X.ndim == 0:
            X = X.reshape(1, -1)
        else:  # (n, ...) rows; explicit width so that n = 0 works too
            X = X.reshape(len(X), int(np.prod(X.shape[1:])))
        if X.shape[1] != self.sizes[0]:
            raise ValueError(f"this network expects {self.sizes[0]} inputs per example, got {X.shape[1]}")
        return X

    def gradients(self, X, y):
        """Gradients (grads_w, grads_b) of the batch-mean cost, without regularisation, computed
        by the book's backpropagation (``core.reference``)."""
        X, y = as_arrays((X, y), self.dtype, self.sizes[0], self.sizes[-1])
        return reference.backprop(self, X, y)

    def input_gradient(self, X, targets):
        """d log p(target | x) / dx for each row: which pixels push the decision towards ``targets``."""
        X = self._input(X)
        targets = np.broadcast_to(np.asarray(targets), (len(X),))
        acts, _ = self._forward(X)
        delta = log_probability_delta(self.output, acts[-1], targets)
        hidden = HIDDEN[self.hidden]
        for layer in range(len(self.weights) - 1, -1, -1):
            delta = delta @ self.weights[layer]
            if layer > 0:
                delta *= hidden.grad(acts[layer], out=np.empty_like(acts[layer]))
        return delta

    # ----- prediction and evaluation ----------------------------------------------------
    def predict_proba(self, X):
        """Class probabilities (n, classes); sigmoid outputs are normalised to sum to 1."""
        X = self._input(X)
        parts = [class_probabilities(self.output, self._forward(X[i:i + _EVAL_CHUNK])[0][-1])
                 for i in range(0, len(X), _EVAL_CHUNK)]
        return np.concatenate(parts) if parts else np.empty((0, self.sizes[-1]), self.dtype)

    def predict(self, X):
        """Predicted integer labels, shape (n,)."""
        return self.predict_proba(X).argmax(axis=1)

    def evaluate(self, X, y=None):
        """{"accuracy": fraction correct, "cost": mean cost} on (X, y) or a dataset pair."""
        X, y = as_arrays((X, y) if y is not None else X, self.dtype, self.sizes[0], self.sizes[-1])
        correct, cost_sum = 0, 0.0
        for i in range(0, len(X), _EVAL_CHUNK):
            acts, z = self._forward(X[i:i + _EVAL_CHUNK])
            yb = y[i:i + _EVAL_CHUNK]
            correct += int(np.count_nonzero(acts[-1].argmax(axis=1) == yb))
            cost_sum += mean_cost(self.output, self.cost, z, acts[-1], yb) * len(yb)
        n = max(len(X), 1)
        return {"accuracy": correct / n, "cost": cost_sum / n}

    def confusion_matrix(self, X, y=None):
        """counts[true, predicted] as an (classes, classes) integer array."""
        X, y = as_arrays((X, y) if y is not None else X, self.dtype, self.sizes[0], self.sizes[-1])
        return confusion_counts(y, self.predict(X), self.sizes[-1])

    def per_class_accuracy(self, X, y=None):
        """Fraction of each true class classified correctly (NaN for a class absent from y)."""
        matrix = self.confusion_matrix(X, y)
        totals = matrix.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, np.diag(matrix) / totals, np.nan)

    def test(self, test_data):
        """Print and return the percentage of ``test_data`` classified correctly; remembered on the net."""
        X, y = as_arrays(test_data, self.dtype, self.sizes[0], self.sizes[-1])
        accuracy = self.evaluate(X, y)["accuracy"]
        self.test_accuracy = accuracy
        print(f"{int(round(accuracy * len(y)))} / {len(y)} correct ({100 * accuracy:.2f}%)")
        return 100.0 * accuracy

    # ----- training ---------------------------------------------------------------------
    def fit(self, train, epochs=1, eta=3.0, batch_size=10, validation=None, **options):
        """Train for ``epochs`` epochs; see ``core.training.fit`` for the options."""
        return fit(self, train, epochs, eta, batch_size, validation, **options)

    def train(self, data, eta, batch_size=10, **options):
        """One epoch of mini-batch training, as in the original project."""
        return fit(self, data, 1, eta, batch_size, **options)

    # ----- imagination ------------------------------------------------------------------
    def imagine(self, digit, method="backproject", **options):
        """What the network thinks ``digit`` looks like: a 28x28 float array."""
        from .imagine import imagine

        return imagine(self, digit, method, **options)

    # ----- files ------------------------------------------------------------------------
    def save(self, path=None, overwrite=True):
        """Write the network atomically to ``path`` (.npz; see core/modelfile.py for the format)."""
        return modelfile.write_net(self, DEFAULT_SAVE_PATH if path is None else path, overwrite)

    def to_bytes(self):
        return modelfile.net_to_bytes(self)

    @classmethod
    def from_bytes(cls, data):
        return modelfile.read_net(cls, data)
