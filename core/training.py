"""The multi-epoch training loop behind ``Net.fit`` and ``Net.train``.

It reports progress through a callback (after every epoch, and every k batches
if asked), stops cleanly between batches when ``should_stop()`` turns true, and
restores the last good epoch when the cost or the weights turn NaN or infinite.
Every way out of ``fit`` (completed, stopped, diverged, or an exception raised
by a callback) leaves finite weights: the weights are checked at each exit (not
in every batch) and, if they are not finite, the epoch-start snapshot is restored.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import limits
from .augment import random_affine
from .backprop import Backprop
from .blas import ThreadChoice
from .optimizers import OPTIMIZERS, SCHEDULES, learning_rate, make_optimizer
from .validation import check_choice, check_count, check_positive


@dataclass
class Progress:
    """What a callback sees: where training is and how it is going."""

    epoch: int              # overall epoch number of the network, 1-based
    run_epoch: int          # epoch within this fit call, 1-based
    run_epochs: int         # epochs this fit call will run
    batch: int              # batches done in this epoch
    batches: int            # batches per epoch
    running_accuracy: float
    running_cost: float
    eta: float
    seconds: float          # time spent in this epoch so far
    epoch_done: bool        # True when the epoch (and its history entry) is complete
    history: list = field(repr=False)


@dataclass
class FitResult:
    status: str             # "completed", "stopped" or "diverged"
    epochs: int             # epochs completed in this call
    message: str = ""


def as_arrays(data, dtype, n_inputs, n_classes):
    """(X, y) from an (X, y) pair of arrays or a list of (x, y) tuples (the original format).

    In the original format x is a (784, 1) column and y either a label or a
    one-hot (10, 1) column.
    """
    if isinstance(data, tuple) and len(data) == 2 and not _is_example_pair(data):
        X, y = data
    else:
        try:
            pairs = list(data)
            X = np.stack([np.ravel(x) for x, _ in pairs])
            y = np.array([int(np.argmax(t)) if np.size(t) > 1 else int(np.ravel(t)[0]) for _, t in pairs])
        except (TypeError, ValueError) as error:
            raise ValueError(f"data must be an (X, y) pair of arrays or a list of (x, y) pairs: {error}") from None
    X = np.asarray(X, dtype=dtype)
    y = np.asarray(y)
    if X.ndim != 2:
        X = X.reshape(len(X), -1) if X.ndim > 2 else X
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"X must be (n, inputs) and y (n,), got X {X.shape} and y {y.shape}")
    if X.shape[1] != n_inputs:
        raise ValueError(f"this network expects {n_inputs} inputs per example, the data has {X.shape[1]}")
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0)):
            raise ValueError("labels y must be whole numbers")
        y = y.astype(np.int64)
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must be between 0 and {n_classes - 1}")
    return X, y


def _is_example_pair(data):
    """True when a 2-tuple is itself a list of two (x, y) examples rather than (X, y)."""
    return all(isinstance(item, tuple) and len(item) == 2 for item in data)


def check_fit_settings(n, epochs=1, eta=3.0, batch_size=10, *, optimizer="sgd", momentum=0.9,
                       weight_decay=0.0, schedule="constant", step_size=10, gamma=0.5, progress_every=None):
    """Check training settings for n examples; a ValueError says what is wrong.

    ``fit`` calls it first; a UI can call it before it starts anything.
    """
    check_count("training-set size", n, 1, limits.MAX_TRAINING_EXAMPLES)
    check_count("epochs", epochs, 1, limits.MAX_EPOCHS)
    check_positive("learning rate", eta)
    if isinstance(batch_size, int) and not isinstance(batch_size, bool) and batch_size > n:
        raise ValueError(f"the mini-batch size ({batch_size}) is larger than the training set ({n} examples)")
    check_count("mini-batch size", batch_size, 1, n)
    check_positive("weight decay", weight_decay, allow_zero=True)
    check_choice("optimiser", optimizer, OPTIMIZERS)
    check_choice("learning-rate schedule", schedule, SCHEDULES)
    check_count("step size", step_size, 1, 10**9)
    check_positive("gamma", gamma)
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if progress_every is not None:
        check_count("progress interval", progress_every, 1, 10**9)


def fit(net, train, epochs=1, eta=3.0, batch_size=10, validation=None, *, optimizer="sgd",
        momentum=0.9, weight_decay=0.0, schedule="constant", step_size=10, gamma=0.5,
        augment=False, callback=None, progress_every=None, should_stop=None, seed=None):
    X, y = as_arrays(train, net.dtype, net.sizes[0], net.sizes[-1])
    n = len(X)
    check_fit_settings(n, epochs, eta, batch_size, optimizer=optimizer, momentum=momentum,
                       weight_decay=weight_decay, schedule=schedule, step_size=step_size, gamma=gamma,
                       progress_every=progress_every)
    eta, gamma, l2 = float(eta), float(gamma), float(weight_decay) / n
    if validation is not None:
        validation = as_arrays(validation, net.dtype, net.sizes[0], net.sizes[-1])

    if not net.parameters_finite():
        raise ValueError("the network has non-finite weights (NaN or infinity) and cannot be trained: "
                         "start from a new network or load a saved one")

    rng = np.random.default_rng(seed) if seed is not None else net.rng
    engine = Backprop(net, batch_size)
    updater = make_optimizer(optimizer, net.weights, net.biases, l2, momentum)
    batches = math.ceil(n / batch_size)
    snapshot = None  # the parameters at the start of the current epoch: the last good state
    try:
        with ThreadChoice(batch_size, net.sizes) as threads:
            for run_epoch in range(epochs):
                rate = learning_rate(schedule, eta, run_epoch, epochs, step_size, gamma)
                snapshot = net.copy_parameters()
                outcome = _run_epoch(net, engine, updater, threads, X, y, rng, rate, batch_size, batches,
                                     run_epoch, epochs, augment, validation, callback, progress_every, should_stop)
                if outcome == "diverged":
                    net.set_parameters(snapshot)
                    return FitResult("diverged", run_epoch, _divergence_message(rate, len(net.history)))
                if outcome == "stopped":
                    # the stop check runs before a batch's cost is computed, so weights that blew up in the
                    # previous batch's update have not been caught yet
                    if not net.parameters_finite():
                        net.set_parameters(snapshot)
                        return FitResult("diverged", run_epoch, _stopped_divergence_message(rate, len(net.history)))
                    return FitResult("stopped", run_epoch, f"stopped during epoch {len(net.history) + 1}; "
                                     "the weights keep what was learned so far")
    except BaseException:
        # an exception from a callback (or an interrupt) mid-epoch: never leave NaN or infinite weights behind
        if snapshot is not None and not net.parameters_finite():
            net.set_parameters(snapshot)
        raise
    return FitResult("completed", epochs)


def _run_epoch(net, engine, updater, threads, X, y, rng, rate, batch_size, batches, run_epoch, epochs,
               augment, validation, callback, progress_every, should_stop):
    """One pass over the shuffled data; returns "done", "stopped" or "diverged".

    The hot loop makes few NumPy calls per batch: each batch's rows are gathered
    into the engine's input buffer (no shuffled copy of the whole set unless
    augmenting), predictions go into an epoch-long array that is compared with
    the labels only when a running accuracy is needed, and the batch cost comes
    from the output error the backward pass needs anyway. A NaN or infinite
    batch cost stops the epoch at once ("diverged").
    """
    started = time.perf_counter()
    n = len(X)
    order = rng.permutation(n)
    if augment:
        X_epoch, order_in_X = random_affine(X[order], rng), None
    else:
        X_epoch, order_in_X = X, order
    y_epoch = y[order]
    Y_epoch = np.take(engine.identity, y_epoch, axis=0)  # one-hot targets in epoch order
    predicted = np.empty(n, np.intp)
    rate = float(rate)
    sign = -rate if updater.takes_steps else 1.0  # steps -eta g, or gradients g for the optimiser
    cost_sum = 0.0
    correct = 0
    counted = 0  # predictions compared with the labels so far
    seen = 0

    def count_correct():
        nonlocal correct, counted
        if counted < seen:
            correct += int(np.count_nonzero(predicted[counted:seen] == y_epoch[counted:seen]))
            counted = seen
        return correct

    def progress(batch, done):
        count_correct()
        return Progress(len(net.history) + (0 if done else 1), run_epoch + 1, epochs, batch, batches,
                        correct / max(seen, 1), cost_sum / max(seen, 1), rate,
                        time.perf_counter() - started, done, net.history)

    forward, error, propagate = engine.forward, engine.error, engine.propagate
    if updater.takes_steps:  # the engine computes -eta g, or adds it into the weights itself
        direct, direct_done = updater.direct(rate), engine.direct_done
        update = updater.apply
    else:
        direct, direct_done = None, None
        update = updater.step
    inputs, grads = engine.inputs, engine.grads
    tuning = threads.tuning
    for batch in range(batches):
        if should_stop is not None and should_stop():
            return "stopped"
        if tuning:
            threads.start()
            batch_started = time.perf_counter()
        lo = batch * batch_size
        hi = min(lo + batch_size, n)
        m = hi - lo
        if order_in_X is None:
            xb = X_epoch[lo:hi]
        else:
            xb = X_epoch.take(order_in_X[lo:hi], axis=0, out=inputs[:m] if m < batch_size else inputs,
                              mode="clip")
        forward(xb).argmax(axis=1, out=predicted[lo:hi])
        batch_cost = error(Y_epoch[lo:hi])
        if not math.isfinite(batch_cost):
            return "diverged"
        cost_sum += batch_cost
        seen = hi
        propagate(xb, sign / m, direct)
        if direct_done is None:
            update(grads, rate)
        else:
            update(grads, rate, direct_done)
        if tuning:
            threads.record(time.perf_counter() - batch_started)
        if callback is not None and progress_every and (batch + 1) % progress_every == 0 and batch + 1 < batches:
            callback(progress(batch + 1, False))
    seconds = time.perf_counter() - started
    if not net.parameters_finite():
        return "diverged"
    count_correct()
    entry = {"epoch": len(net.history) + 1, "train_accuracy": correct / seen, "train_cost": cost_sum / seen,
             "validation_accuracy": None, "validation_cost": None, "seconds": seconds, "eta": rate}
    if validation is not None:
        scores = net.evaluate(*validation)
        entry["validation_accuracy"], entry["validation_cost"] = scores["accuracy"], scores["cost"]
        if not math.isfinite(scores["cost"]):
            return "diverged"
    net.history.append(entry)
    if callback is not None:
        callback(progress(batches, True))
    return "done"


def _epochs_text(count):
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def _stopped_divergence_message(rate, epochs_kept):
    kept = (f"restored the weights from the end of epoch {epochs_kept}, so the network keeps the "
            f"{_epochs_text(epochs_kept)} it finished" if epochs_kept else
            "restored the weights from before training")
    return (f"stopped during epoch {epochs_kept + 1}, but training diverged in that epoch (the weights became NaN "
            f"or infinite) at learning rate {rate:g}; {kept}. Try a smaller learning rate.")


def _divergence_message(rate, epochs_kept):
    kept = f"the weights from the end of epoch {epochs_kept}" if epochs_kept else "the weights from before training"
    return (f"training diverged (the cost became NaN or infinite) at learning rate {rate:g}; "
            f"restored {kept}. Try a smaller learning rate.")
