"""Training: accuracy on an MNIST subset, the original data format, progress callbacks,
stopping, divergence, optimisers, schedules, augmentation and refusals of bad settings."""
import math
import time

import numpy as np
import pytest

from core import FitResult, Net, Progress, limits, training
from core.augment import random_affine
from core.optimizers import learning_rate
from core.training import check_fit_settings

HISTORY_KEYS = {"epoch", "train_accuracy", "train_cost", "validation_accuracy", "validation_cost", "seconds", "eta"}


@pytest.fixture(scope="module")
def subset(mnist):
    train = mnist[0]
    return train.X[:5000], train.y[:5000]


@pytest.fixture(scope="module")
def validation(mnist):
    return mnist[1]


@pytest.fixture(scope="module")
def small(mnist):
    """1,000 training examples for tests about mechanics rather than accuracy."""
    train = mnist[0]
    return train.X[5000:6000], train.y[5000:6000]


def _copy(net):
    return [p.copy() for p in net.weights + net.biases]


def _assert_parameters_equal(net, parameters):
    for actual, expected in zip(net.weights + net.biases, parameters):
        np.testing.assert_array_equal(actual, expected)


# ----- learning ----------------------------------------------------------------------------------
def test_sigmoid_quadratic_sgd_learns_mnist_subset(subset, validation):
    net = Net([784, 30, 10], init="xavier", seed=1)
    result = net.fit(subset, epochs=2, eta=3.0, batch_size=10, validation=validation)
    assert result == FitResult("completed", 2)
    assert net.history[-1]["validation_accuracy"] > 0.85
    assert net.history[1]["train_cost"] < net.history[0]["train_cost"]


def test_softmax_cross_entropy_adam_learns_mnist_subset(subset, validation):
    net = Net([784, 30, 10], output="softmax", cost="cross_entropy", init="xavier", seed=1)
    result = net.fit(subset, epochs=3, eta=0.003, batch_size=10, validation=validation, optimizer="adam")
    assert result.status == "completed"
    assert net.history[-1]["validation_accuracy"] > 0.9


def test_relu_momentum_learns_mnist_subset(subset, validation):
    net = Net([784, 30, 10], hidden="relu", output="softmax", cost="cross_entropy", init="he", seed=2)
    net.fit(subset, epochs=2, eta=0.01, batch_size=10, validation=validation, optimizer="momentum")
    assert net.history[-1]["validation_accuracy"] > 0.88


def test_original_format_is_accepted_and_trains_like_arrays(subset):
    X, y = subset
    one_hot = np.eye(10, dtype=np.float32)
    original = [(x.reshape(784, 1), one_hot[label].reshape(10, 1)) for x, label in zip(X, y)]
    from_tuples, from_arrays = Net([784, 30, 10], seed=0), Net([784, 30, 10], seed=0)
    result = from_tuples.train(original, 3.0)  # the original API: one epoch, batch size 10
    from_arrays.train((X, y), 3.0)
    assert result.status == "completed" and len(from_tuples.history) == 1
    for a, b in zip(from_tuples.weights + from_tuples.biases, from_arrays.weights + from_arrays.biases):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the original test-data format: column x with an integer label
    test_data = [(x.reshape(784, 1), int(label)) for x, label in zip(X[:300], y[:300])]
    assert from_tuples.evaluate(test_data) == from_tuples.evaluate(X[:300], y[:300])
    # well above chance (0.1) after one epoch, though the original N(0, 1) initialisation learns slowly
    assert from_tuples.evaluate(test_data)["accuracy"] > 0.4


def test_history_has_one_complete_entry_per_epoch(small, validation):
    net = Net([784, 10, 10], seed=0)
    net.fit(small, epochs=2, eta=1.0, validation=(validation.X[:500], validation.y[:500]))
    net.fit(small, epochs=1, eta=1.0)  # without validation, numbering continues
    assert [entry["epoch"] for entry in net.history] == [1, 2, 3]
    for entry in net.history:
        assert set(entry) == HISTORY_KEYS
        assert 0 <= entry["train_accuracy"] <= 1 and entry["train_cost"] > 0 and entry["seconds"] >= 0
        assert entry["eta"] == 1.0
    for entry in net.history[:2]:
        assert 0 <= entry["validation_accuracy"] <= 1 and entry["validation_cost"] > 0
    assert net.history[2]["validation_accuracy"] is None and net.history[2]["validation_cost"] is None


def test_train_accuracy_in_history_is_the_running_accuracy_of_the_epoch(small):
    net = Net([784, 10, 10], seed=4)
    X, y = small
    before = net.evaluate(X, y)["accuracy"]
    net.fit(small, epochs=1, eta=0.0001, batch_size=len(y))  # one tiny step: accuracy is that of the start
    assert net.history[0]["train_accuracy"] == pytest.approx(before)


# ----- callbacks and stopping -------------------------------------------------------------------
def test_callback_every_k_batches_and_every_epoch(small):
    calls = []
    net = Net([784, 10, 10], seed=0)
    net.fit(small, epochs=2, eta=1.0, batch_size=10, callback=calls.append, progress_every=30)
    batches = 100
    expected = [(epoch, batch, False) for epoch in (1, 2) for batch in (30, 60, 90)]
    expected += [(1, batches, True), (2, batches, True)]
    assert sorted((p.run_epoch, p.batch, p.epoch_done) for p in calls) == sorted(expected)
    for p in calls:
        assert isinstance(p, Progress)
        assert p.run_epochs == 2 and p.batches == batches and p.eta == 1.0
        assert p.epoch == p.run_epoch  # a fresh network
        assert 0 <= p.running_accuracy <= 1 and math.isfinite(p.running_cost) and p.running_cost > 0
        assert p.seconds >= 0
    done = [p for p in calls if p.epoch_done]
    assert [len(p.history) for p in done] == [2, 2]  # the same list, complete by now
    assert done[0].running_accuracy == pytest.approx(net.history[0]["train_accuracy"])
    assert done[1].running_cost == pytest.approx(net.history[1]["train_cost"])


def test_callback_only_at_epoch_ends_without_progress_every(small):
    calls = []
    Net([784, 10, 10], seed=0).fit(small, epochs=3, eta=1.0, callback=calls.append)
    assert [(p.run_epoch, p.epoch_done, len(p.history)) for p in calls] == [(1, True, 3), (2, True, 3), (3, True, 3)]


def test_callback_epoch_counts_continue_across_fit_calls(small):
    net = Net([784, 10, 10], seed=0)
    net.fit(small, epochs=2, eta=1.0)
    calls = []
    net.fit(small, epochs=1, eta=1.0, callback=calls.append, progress_every=50)
    assert [(p.epoch, p.run_epoch, p.batch, p.epoch_done) for p in calls] == [(3, 1, 50, False), (3, 1, 100, True)]


def test_should_stop_stops_between_batches(small):
    net = Net([784, 10, 10], seed=0)
    asked = []

    def should_stop():
        asked.append(1)
        return len(asked) > 150  # 100 batches per epoch: stop half way through epoch 2

    epoch_ends = []
    result = net.fit(small, epochs=5, eta=1.0, batch_size=10, should_stop=should_stop,
                     callback=lambda p: epoch_ends.append(_copy(net)) if p.epoch_done else None)
    assert result.status == "stopped" and result.epochs == 1
    assert "stopped during epoch 2" in result.message
    assert len(asked) == 151
    assert len(net.history) == 1 and len(epoch_ends) == 1
    # the 50 batches of epoch 2 did change the weights (they are kept, not rolled back)
    assert not np.array_equal(net.weights[0], epoch_ends[0][0])


def test_should_stop_before_the_first_batch_changes_nothing(small):
    net = Net([784, 10, 10], seed=0)
    before = _copy(net)
    result = net.fit(small, epochs=3, eta=1.0, should_stop=lambda: True)
    assert result.status == "stopped" and result.epochs == 0 and net.history == []
    _assert_parameters_equal(net, before)


# ----- divergence ---------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_restores_the_last_good_epoch(small):
    # epoch 1 at eta 0.05 is fine; the step schedule then multiplies eta by 1e31 (to 5e29),
    # which overflows a relu network's activations to inf and its cost to NaN
    net = Net([784, 30, 10], hidden="relu", output="softmax", cost="cross_entropy", init="he", seed=0)
    snapshots = []
    result = net.fit(small, epochs=3, eta=0.05, batch_size=10, schedule="step", step_size=1, gamma=1e31,
                     callback=lambda p: snapshots.append(_copy(net)) if p.epoch_done else None)
    assert result.status == "diverged" and result.epochs == 1
    assert "diverged" in result.message and "restored the weights from the end of epoch 1" in result.message
    assert "smaller learning rate" in result.message
    assert len(snapshots) == 1 and len(net.history) == 1
    _assert_parameters_equal(net, snapshots[0])
    assert net.parameters_finite()
    assert all(value is None or math.isfinite(value) for value in net.history[0].values())
    assert net.evaluate(*small)["accuracy"] > 0.5  # the restored network still works


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_in_the_first_epoch_restores_the_initial_weights(small):
    net = Net([784, 30, 10], hidden="relu", output="softmax", cost="cross_entropy", init="he", seed=0)
    initial = _copy(net)
    result = net.fit(small, epochs=2, eta=1e30)
    assert result.status == "diverged" and result.epochs == 0
    assert "weights from before training" in result.message
    assert net.history == []
    _assert_parameters_equal(net, initial)


# ----- optimisers, weight decay and schedules ----------------------------------------------------------
def _one_batch(small, n=20):
    X, y = small
    return X[:n], y[:n]


def test_sgd_step_is_minus_eta_times_the_gradient(small):
    X, y = _one_batch(small)
    net = Net([784, 12, 10], seed=5, dtype=np.float64)
    before = _copy(net)
    grads_w, grads_b = net.gradients(X, y)
    net.fit((X, y), epochs=1, eta=0.5, batch_size=len(y))  # a single full batch: order does not matter
    for after, start, grad in zip(net.weights + net.biases, before, grads_w + grads_b):
        np.testing.assert_allclose(after, start - 0.5 * grad, rtol=1e-10, atol=1e-12)


def _batches_of(seed, n, batch_size, epochs):
    """The mini-batches ``fit(..., seed=seed)`` visits: a fresh permutation of the n examples each epoch."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        yield from (order[lo:lo + batch_size] for lo in range(0, n, batch_size))


@pytest.mark.parametrize("n, batch_size", [(20, 20), (50, 20)], ids=["one batch", "three uneven batches"])
def test_weight_decay_adds_lambda_over_n_times_the_weights(small, n, batch_size):
    """SGD with L2: each step is -eta (batch-mean gradient + lambda / n w), n the training-set size (not the
    batch size); with several batches, a last one smaller than the others, and biases never decayed."""
    X, y = _one_batch(small, n)
    lam, eta, seed = 5.0, 0.5, 3
    net = Net([784, 12, 10], seed=5, dtype=np.float64)
    probe = Net.from_bytes(net.to_bytes())
    weights = _copy(net)
    for batch in _batches_of(seed, n, batch_size, epochs=2):
        probe.set_parameters((weights[:2], weights[2:]))
        grads = sum(probe.gradients(X[batch], y[batch]), [])
        weights = [w - eta * (g + (lam / n * w if i < 2 else 0.0)) for i, (w, g) in enumerate(zip(weights, grads))]
    net.fit((X, y), epochs=2, eta=eta, batch_size=batch_size, weight_decay=lam, seed=seed)
    for actual, expected in zip(net.weights + net.biases, weights):
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)


def test_weight_decay_keeps_weights_smaller(small):
    plain, decayed = Net([784, 20, 10], seed=6), Net([784, 20, 10], seed=6)
    plain.fit(small, epochs=2, eta=0.5)
    decayed.fit(small, epochs=2, eta=0.5, weight_decay=50.0)
    assert np.linalg.norm(decayed.weights[0]) < 0.9 * np.linalg.norm(plain.weights[0])


def test_momentum_accumulates_velocity(small):
    X, y = _one_batch(small)
    net = Net([784, 12, 10], seed=5, dtype=np.float64)
    w0 = _copy(net)
    g1 = sum(net.gradients(X, y), [])
    steps = []
    net.fit((X, y), epochs=2, eta=0.5, batch_size=len(y), optimizer="momentum", momentum=0.8,
            callback=lambda p: steps.append(_copy(net)))
    w1, w2 = steps
    for a, b, g in zip(w1, w0, g1):
        np.testing.assert_allclose(a, b - 0.5 * g, rtol=1e-10, atol=1e-12)
    probe = Net.from_bytes(net.to_bytes())
    probe.set_parameters((w1[:2], w1[2:]))
    g2 = sum(probe.gradients(X, y), [])
    for a, b, g_first, g_second in zip(w2, w1, g1, g2):
        velocity = 0.8 * (-0.5 * g_first) - 0.5 * g_second
        np.testing.assert_allclose(a, b + velocity, rtol=1e-9, atol=1e-12)


def test_adam_first_step_moves_each_parameter_by_about_eta(small):
    X, y = _one_batch(small)
    net = Net([784, 12, 10], seed=5, dtype=np.float64)
    before = _copy(net)
    grads = sum(net.gradients(X, y), [])
    net.fit((X, y), epochs=1, eta=0.01, batch_size=len(y), optimizer="adam")
    for after, start, grad in zip(net.weights + net.biases, before, grads):
        step = after - start
        assert np.all(np.abs(step) <= 0.01 * (1 + 1e-9))
        clear = np.abs(grad) > 1e-3  # well above Adam's epsilon: the step is eta against the gradient's sign
        np.testing.assert_allclose(step[clear], -0.01 * np.sign(grad[clear]), rtol=1e-3)
        assert not step[grad == 0].any()


@pytest.mark.parametrize("n, batch_size", [(20, 20), (50, 20)], ids=["one batch", "three uneven batches"])
@pytest.mark.parametrize("lam", [0.0, 5.0])
def test_adam_matches_a_reference_implementation(small, lam, n, batch_size):
    """Adam against Kingma & Ba's algorithm (the form with eps added to sqrt(v)), one step per mini-batch
    over two epochs; L2 adds lambda / n w (n the training-set size) to the weights' gradients only."""
    X, y = _one_batch(small, n)
    eta, b1, b2, eps, seed = 0.01, 0.9, 0.999, 1e-8, 4
    net = Net([784, 12, 10], seed=5, dtype=np.float64)
    probe = Net.from_bytes(net.to_bytes())
    weights = _copy(net)
    m = [np.zeros_like(p) for p in weights]
    v = [np.zeros_like(p) for p in weights]
    for t, batch in enumerate(_batches_of(seed, n, batch_size, epochs=2), start=1):
        probe.set_parameters((weights[:2], weights[2:]))
        grads = sum(probe.gradients(X[batch], y[batch]), [])
        for i in range(len(weights)):
            g = grads[i] + (lam / n * weights[i] if i < 2 else 0.0)  # weights decay, biases do not
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            weights[i] = weights[i] - eta * np.sqrt(1 - b2**t) / (1 - b1**t) * m[i] / (np.sqrt(v[i]) + eps)
    net.fit((X, y), epochs=2, eta=eta, batch_size=batch_size, optimizer="adam", weight_decay=lam, seed=seed)
    for actual, expected in zip(net.weights + net.biases, weights):
        np.testing.assert_allclose(actual, expected, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("value, message", [
    (1.0, r"momentum must be in \[0, 1\), got 1.0"),
    (-0.1, r"momentum must be in \[0, 1\)"),
    (float("nan"), r"momentum must be in \[0, 1\)"),
])
def test_bad_momentum(small, value, message):
    with pytest.raises(ValueError, match=message):
        Net([784, 10]).fit(small, optimizer="momentum", momentum=value)


@pytest.mark.parametrize("schedule, options", [("step", {"step_size": 2, "gamma": 0.5}), ("cosine", {})])
def test_history_records_the_scheduled_learning_rate(small, schedule, options):
    X, y = small
    net = Net([784, 10, 10], seed=0)
    net.fit((X[:200], y[:200]), epochs=5, eta=0.8, schedule=schedule, **options)
    expected = [learning_rate(schedule, 0.8, e, 5, **options) for e in range(5)]
    assert [entry["eta"] for entry in net.history] == pytest.approx(expected)
    assert expected[0] == pytest.approx(0.8) and expected[-1] < expected[0]


@pytest.mark.parametrize("options, message", [
    ({"step_size": 0}, r"step size must be between 1 and"),
    ({"step_size": 1.5}, r"step size must be a whole number"),
    ({"gamma": 0.0}, r"gamma must be greater than 0"),
    ({"gamma": float("nan")}, r"gamma must be a finite number"),
])
def test_bad_step_schedule_settings(small, options, message):
    with pytest.raises(ValueError, match=message):
        Net([784, 10]).fit(small, schedule="step", **options)


# ----- augmentation -----------------------------------------------------------------------------------
def test_training_with_augmentation_runs_and_learns(small, validation):
    net = Net([784, 30, 10], output="softmax", cost="cross_entropy", init="xavier", seed=0)
    X, y = small
    X_before = X.copy()
    result = net.fit(small, epochs=2, eta=0.003, optimizer="adam", augment=True,
                     validation=(validation.X[:1000], validation.y[:1000]))
    assert result.status == "completed"
    np.testing.assert_array_equal(X, X_before)  # the training data is not modified
    assert net.history[-1]["validation_accuracy"] > 0.7


def test_random_affine_keeps_shape_dtype_range_and_moves_ink(small):
    X = small[0][:500]
    original = X.copy()
    out = random_affine(X, np.random.default_rng(0))
    assert out.shape == X.shape and out.dtype == X.dtype
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(X, original)
    moved = np.abs(out - X).sum(axis=1)
    assert (moved > 1.0).all()  # every image changed noticeably
    # without thickness changes, an affine map with scale within 12% roughly preserves the ink
    plain = random_affine(X, np.random.default_rng(1), thickness=0)
    ratio = plain.sum(axis=1) / X.sum(axis=1)
    assert 0.95 < ratio.mean() < 1.05 and 0.6 < ratio.min() and ratio.max() < 1.6
    # the same random generator state gives the same distortion
    np.testing.assert_array_equal(out, random_affine(X, np.random.default_rng(0)))


def test_random_affine_keeps_the_centre_of_ink_near_the_centre(small):
    X = small[0][:300]
    out = random_affine(X, np.random.default_rng(2), thickness=0).reshape(-1, 28, 28)
    rows = np.arange(28)

    def centre(images):
        mass = images.sum(axis=(1, 2))
        return ((images.sum(axis=2) @ rows) / mass, (images.sum(axis=1) @ rows) / mass)

    (r0, c0), (r1, c1) = centre(X.reshape(-1, 28, 28)), centre(out)
    shift = np.hypot(r1 - r0, c1 - c0)
    assert shift.max() < 6.0 and shift.mean() > 0.3  # moved, but by a few pixels at most


def test_random_affine_float64_and_empty():
    rng = np.random.default_rng(0)
    X = rng.random((3, 784))
    assert random_affine(X, rng).dtype == np.float64
    assert random_affine(np.empty((0, 784), np.float32), rng).shape == (0, 784)


# ----- refusals -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"eta": 0}, r"learning rate must be greater than 0, got 0"),
    ({"eta": -1.0}, r"learning rate must be greater than 0, got -1"),
    ({"eta": float("nan")}, r"learning rate must be a finite number, got nan"),
    ({"eta": float("inf")}, r"learning rate must be a finite number"),
    ({"eta": "3"}, r"learning rate must be a finite number, got '3'"),
    ({"batch_size": 1001}, r"the mini-batch size \(1001\) is larger than the training set \(1000 examples\)"),
    ({"batch_size": 0}, r"mini-batch size must be between 1 and 1000, got 0"),
    ({"batch_size": 2.5}, r"mini-batch size must be a whole number, got 2.5"),
    ({"epochs": 0}, r"epochs must be between 1 and \d+, got 0"),
    ({"epochs": limits.MAX_EPOCHS + 1}, r"epochs must be between 1 and \d+"),
    ({"weight_decay": -1.0}, r"weight decay must be at least 0, got -1"),
    ({"optimizer": "rmsprop"}, r"unknown optimiser 'rmsprop'; choose one of: sgd, momentum, adam"),
    ({"schedule": "linear"}, r"unknown learning-rate schedule 'linear'"),
    ({"progress_every": 0}, r"progress interval must be between 1 and"),
])
def test_bad_settings_are_refused_with_a_reason(small, kwargs, message):
    net = Net([784, 10, 10], seed=0)
    before = _copy(net)
    with pytest.raises(ValueError, match=message):
        net.fit(small, **kwargs)
    _assert_parameters_equal(net, before)
    assert net.history == []


def test_bad_data_is_refused_with_a_reason(small):
    X, y = small
    net = Net([784, 10, 10], seed=0)
    with pytest.raises(ValueError, match="expects 784 inputs per example, the data has 100"):
        net.fit((X[:, :100], y))
    with pytest.raises(ValueError, match="labels must be between 0 and 9"):
        net.fit((X, np.where(y == 3, 10, y)))
    with pytest.raises(ValueError, match="labels must be between 0 and 9"):
        net.fit((X, np.where(y == 3, -1, y)))
    with pytest.raises(ValueError, match="labels y must be whole numbers"):
        net.fit((X, y + 0.5))
    with pytest.raises(ValueError, match=r"X must be \(n, inputs\) and y \(n,\)"):
        net.fit((X, y[:-1]))
    with pytest.raises(ValueError, match="labels must be between 0 and 9"):
        net.fit((X, y), validation=(X[:10], np.full(10, 12)))
    with pytest.raises(ValueError, match="training-set size must be between 1 and"):
        net.fit((X[:0], y[:0]))
    with pytest.raises(ValueError, match="data must be an \\(X, y\\) pair of arrays or a list of \\(x, y\\) pairs"):
        net.fit([1, 2, 3])


def test_training_set_size_cap(small, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TRAINING_EXAMPLES", 100)
    X, y = small
    net = Net([784, 10, 10], seed=0)
    with pytest.raises(ValueError, match="training-set size must be between 1 and 100, got 1000"):
        net.fit((X, y))
    assert net.fit((X[:100], y[:100])).status == "completed"


def test_training_is_reproducible_from_its_seed(mnist):
    """What scripts/train_default.py relies on: same seed and one BLAS thread, same weights bit for bit."""
    from threadpoolctl import threadpool_limits

    train, _, _ = mnist
    subset = (train.X[:2000], train.y[:2000])

    def trained(seed):
        net = Net([784, 64, 10], hidden="relu", output="softmax", cost="cross_entropy", init="he", seed=seed)
        with threadpool_limits(limits=1, user_api="blas"):
            net.fit(subset, 2, eta=0.001, batch_size=32, optimizer="adam", augment=True, seed=seed)
        return net

    first, again, other = trained(7), trained(7), trained(8)
    for a, b in zip(first.weights + first.biases, again.weights + again.biases):
        assert np.array_equal(a, b)
    assert first.history[-1]["train_cost"] == again.history[-1]["train_cost"]
    assert not np.array_equal(first.weights[0], other.weights[0])


# ----- the training loop against a NumPy reference ------------------------------------------------------
def _reference_sgd(net, X, y, eta, batch_size, seed, epochs, lam=0.0, momentum=None, augment=False):
    """Mini-batch SGD (or momentum) written out from the network's gradients: each epoch a fresh permutation
    of the n examples from ``default_rng(seed)`` (distorted by ``random_affine`` with the same generator when
    augmenting), one step per mini-batch, L2 adding lambda / n w to the weights' gradients only.
    Returns the final parameters and, per epoch, the running (accuracy, cost) after each mini-batch, each
    batch's predictions and cost taken before its step."""
    X, rng = X.astype(net.dtype), np.random.default_rng(seed)
    probe = Net.from_bytes(net.to_bytes())
    params = _copy(net)
    velocity = [np.zeros_like(p) for p in params]
    n, n_weights = len(y), len(net.weights)
    running = []
    for _ in range(epochs):
        order = rng.permutation(n)
        X_epoch = random_affine(X[order], rng) if augment else X[order]
        y_epoch = y[order]
        correct, cost, reports = 0, 0.0, []
        for lo in range(0, n, batch_size):
            xb, yb = X_epoch[lo:lo + batch_size], y_epoch[lo:lo + batch_size]
            probe.set_parameters((params[:n_weights], params[n_weights:]))
            correct += int(np.count_nonzero(probe.predict(xb) == yb))
            cost += probe.evaluate(xb, yb)["cost"] * len(yb)
            seen = lo + len(yb)
            reports.append((correct / seen, cost / seen))
            grads = sum(probe.gradients(xb, yb), [])
            for i, g in enumerate(grads):
                g = g + (lam / n * params[i] if i < n_weights else 0.0)
                if momentum is None:
                    params[i] = params[i] - eta * g
                else:
                    velocity[i] = momentum * velocity[i] - eta * g
                    params[i] = params[i] + velocity[i]
        running.append(reports)
    return params, running


@pytest.mark.parametrize("n, batch_size, epochs, eta", [(50, 20, 3, 1.0), (6, 1, 4, 0.3)],
                         ids=["three uneven batches", "batches of one"])
def test_training_matches_a_reference_loop_and_reports_its_running_accuracy_and_cost(small, n, batch_size, epochs,
                                                                                     eta):
    """Every progress report (here after each mini-batch) carries the epoch's running accuracy and mean cost
    so far, and the history keeps the epoch's totals: what the examples scored when their batch came up."""
    X, y = _one_batch(small, n)
    net = Net([784, 12, 10], output="softmax", cost="cross_entropy", init="xavier", seed=5, dtype=np.float64)
    expected, running = _reference_sgd(net, X, y, eta, batch_size, seed=2, epochs=epochs)
    reports = []
    result = net.fit((X, y), epochs=epochs, eta=eta, batch_size=batch_size, seed=2, callback=reports.append,
                     progress_every=1)
    assert result == FitResult("completed", epochs)
    for actual, wanted in zip(net.weights + net.biases, expected):
        np.testing.assert_allclose(actual, wanted, rtol=1e-9, atol=1e-12)
    batches = len(running[0])
    assert [(p.epoch, p.run_epoch, p.batch, p.epoch_done) for p in reports] == [
        (epoch, epoch, batch, batch == batches) for epoch in range(1, epochs + 1) for batch in range(1, batches + 1)]
    assert [p.running_accuracy for p in reports] == [accuracy for epoch in running for accuracy, _ in epoch]
    assert [p.running_cost for p in reports] == pytest.approx([cost for epoch in running for _, cost in epoch],
                                                              rel=1e-9)
    assert [entry["train_accuracy"] for entry in net.history] == [epoch[-1][0] for epoch in running]
    assert [entry["train_cost"] for entry in net.history] == pytest.approx([epoch[-1][1] for epoch in running],
                                                                           rel=1e-9)
    assert running[-1][-1][0] > running[0][-1][0]  # it learned


def test_fit_defaults_are_plain_sgd_at_eta_3_in_batches_of_10(small):
    X, y = _one_batch(small, 30)
    net = Net([784, 12, 10], seed=5, dtype=np.float64)
    expected, running = _reference_sgd(net, X, y, 3.0, 10, seed=1, epochs=1)
    assert net.fit((X, y), seed=1) == FitResult("completed", 1)
    for actual, wanted in zip(net.weights + net.biases, expected):
        np.testing.assert_allclose(actual, wanted, rtol=1e-9, atol=1e-12)
    assert net.history[0]["eta"] == 3.0 and net.history[0]["train_accuracy"] == running[0][-1][0]


def test_momentum_zero_is_plain_sgd(small):
    X, y = _one_batch(small, 30)
    plain, momentum = Net([784, 12, 10], seed=5, dtype=np.float64), Net([784, 12, 10], seed=5, dtype=np.float64)
    plain.fit((X, y), epochs=2, eta=1.0, seed=3)
    momentum.fit((X, y), epochs=2, eta=1.0, seed=3, optimizer="momentum", momentum=0.0)
    for a, b in zip(momentum.weights + momentum.biases, plain.weights + plain.biases):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("optimizer, momentum", [("sgd", None), ("momentum", 0.7)])
def test_a_wide_first_layer_trains_like_the_reference(small, optimizer, momentum):
    """784 x 64 weights (over 50,000) take their step inside the gradient's matrix product: the same training,
    with weight decay and several mini-batches."""
    X, y = _one_batch(small, 30)
    net = Net([784, 64, 10], seed=1, dtype=np.float64)
    expected, _ = _reference_sgd(net, X, y, 0.5, 10, seed=6, epochs=2, lam=4.0, momentum=momentum)
    options = {"momentum": momentum} if momentum is not None else {}
    net.fit((X, y), epochs=2, eta=0.5, batch_size=10, seed=6, weight_decay=4.0, optimizer=optimizer, **options)
    for actual, wanted in zip(net.weights + net.biases, expected):
        np.testing.assert_allclose(actual, wanted, rtol=1e-9, atol=1e-12)


def test_augmentation_distorts_each_epoch_afresh_and_keeps_the_labels(small):
    X, y = _one_batch(small, 20)
    net = Net([784, 12, 10], seed=2, dtype=np.float64)
    plain = Net.from_bytes(net.to_bytes())
    expected, _ = _reference_sgd(net, X, y, 1.0, 10, seed=4, epochs=2, augment=True)
    net.fit((X, y), epochs=2, eta=1.0, batch_size=10, seed=4, augment=True)
    for actual, wanted in zip(net.weights + net.biases, expected):
        np.testing.assert_allclose(actual, wanted, rtol=1e-9, atol=1e-12)
    plain.fit((X, y), epochs=2, eta=1.0, batch_size=10, seed=4)
    assert not np.allclose(plain.weights[0], net.weights[0])


def test_progress_every_without_a_callback_trains_as_usual(small):
    X, y = _one_batch(small, 30)
    quiet, reporting = Net([784, 8, 10], seed=0), Net([784, 8, 10], seed=0)
    quiet.fit((X, y), epochs=2, eta=1.0, seed=1)
    assert reporting.fit((X, y), epochs=2, eta=1.0, seed=1, progress_every=1) == FitResult("completed", 2)
    _assert_parameters_equal(reporting, _copy(quiet))


def test_step_schedule_defaults_halve_the_rate_every_10_epochs(small):
    X, y = _one_batch(small, 10)
    net = Net([784, 4, 10], seed=0)
    net.fit((X, y), epochs=11, eta=1.0, batch_size=10, schedule="step")
    assert [entry["eta"] for entry in net.history] == [1.0] * 10 + [0.5]


def test_reported_seconds_are_within_the_time_fit_took(small):
    X, y = _one_batch(small, 40)
    reports = []
    started = time.perf_counter()
    Net([784, 8, 10], seed=0).fit((X, y), epochs=2, eta=1.0, callback=reports.append, progress_every=1)
    elapsed = time.perf_counter() - started
    assert len(reports) == 8 and all(0 <= p.seconds <= elapsed for p in reports)
    epoch_seconds = [p.history[i]["seconds"] for i, p in enumerate(p for p in reports if p.epoch_done)]
    assert all(seconds >= 0 for seconds in epoch_seconds) and sum(epoch_seconds) <= elapsed
    for epoch in (1, 2):  # the time within an epoch only grows
        times = [p.seconds for p in reports if p.run_epoch == epoch]
        assert times == sorted(times)


# ----- data layouts and settings ------------------------------------------------------------------------------
@pytest.mark.parametrize("augment", [False, True])
def test_other_data_layouts_train_exactly_like_flat_arrays_of_the_network_dtype(small, augment):
    """28 x 28 images, float64 pixels for a float32 network, whole-number float labels, labels in a list."""
    X, y = _one_batch(small, 20)

    def trained(data):
        net = Net([784, 8, 10], seed=3)
        net.fit(data, epochs=1, eta=1.0, batch_size=8, seed=0, augment=augment)
        return net

    reference = _copy(trained((X, y)))
    for data in [(X.reshape(-1, 28, 28), y), (X.astype(np.float64), y), (X, y.astype(np.float64)),
                 (X, y.astype(np.float32)), (X, list(y))]:
        _assert_parameters_equal(trained(data), reference)


def test_two_examples_as_arrays_or_as_a_tuple_of_original_examples(small):
    X, y = _one_batch(small, 2)
    from_arrays, from_pairs = Net([784, 8, 10], seed=3), Net([784, 8, 10], seed=3)
    from_arrays.fit((X, y), eta=1.0, batch_size=2)
    from_pairs.fit(((X[0].reshape(784, 1), int(y[0])), (X[1].reshape(784, 1), int(y[1]))), eta=1.0, batch_size=2)
    assert len(from_arrays.history) == len(from_pairs.history) == 1
    _assert_parameters_equal(from_pairs, _copy(from_arrays))


def test_two_class_one_hot_targets_in_the_original_format(small):
    X, y = _one_batch(small, 20)
    parity = y % 2
    one_hot = np.eye(2)
    original = [(x.reshape(784, 1), one_hot[label].reshape(2, 1)) for x, label in zip(X, parity)]
    from_arrays, from_pairs = Net([784, 4, 2], seed=3), Net([784, 4, 2], seed=3)
    from_arrays.fit((X, parity), eta=1.0, batch_size=5)
    from_pairs.fit(original, eta=1.0, batch_size=5)
    _assert_parameters_equal(from_pairs, _copy(from_arrays))


def test_training_on_a_single_example(small):
    X, y = _one_batch(small, 1)
    net = Net([784, 8, 10], seed=0)
    assert net.fit((X, y), epochs=1, eta=1.0, batch_size=1) == FitResult("completed", 1)
    assert net.history[0]["train_accuracy"] in (0.0, 1.0)


@pytest.mark.parametrize("setting, name", [("step_size", "step size"), ("progress_every", "progress interval")])
def test_step_size_and_progress_interval_stop_at_a_billion(setting, name):
    check_fit_settings(10, **{setting: 10**9})
    with pytest.raises(ValueError) as raised:
        check_fit_settings(10, **{setting: 10**9 + 1})
    assert str(raised.value) == f"{name} must be between 1 and 1000000000, got 1000000001"


def test_check_fit_settings_accepts_the_defaults_and_the_limits():
    check_fit_settings(10)  # fit's own defaults (batch size 10), on the smallest set they fit
    check_fit_settings(1, 1, 0.1, 1, optimizer="momentum", momentum=0.0, step_size=10**9, progress_every=10**9)
    check_fit_settings(20, limits.MAX_EPOCHS, 0.1, 20, weight_decay=0.0, schedule="step", step_size=1,
                       progress_every=1)


@pytest.mark.parametrize("data, message", [
    (lambda X, y: (X[0], y[:1]), r"X must be (n, inputs) and y (n,), got X (784,) and y (1,)"),
    (lambda X, y: (X, y[:, None]), r"X must be (n, inputs) and y (n,), got X (1000, 784) and y (1000, 1)"),
    (lambda X, y: (X, y.astype(str)), "labels y must be whole numbers"),
    (lambda X, y: (X, np.where(y == 3, 10, y)), "labels must be between 0 and 9"),
])
def test_bad_data_messages(small, data, message):
    net = Net([784, 12, 10], seed=0)
    with pytest.raises(ValueError) as raised:
        net.fit(data(*small))
    assert str(raised.value) == message


def test_bad_validation_labels_are_refused_before_training(small):
    X, y = small
    net = Net([784, 12, 10], seed=0)
    before = _copy(net)
    with pytest.raises(ValueError) as raised:
        net.fit((X[:50], y[:50]), validation=(X[:10], np.full(10, 10)))
    assert str(raised.value) == "labels must be between 0 and 9"
    _assert_parameters_equal(net, before)
    assert net.history == []


def test_a_network_with_non_finite_weights_is_refused_with_what_to_do(small):
    net = Net([784, 8, 10], seed=0)
    net.biases[0][2] = np.inf
    with pytest.raises(ValueError) as raised:
        net.fit(_one_batch(small))
    assert str(raised.value) == ("the network has non-finite weights (NaN or infinity) and cannot be trained: "
                                 "start from a new network or load a saved one")


# ----- divergence messages -------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("good_epochs", [0, 1, 2])
@pytest.mark.parametrize("stop", [False, True], ids=["cost NaN", "stopped after the blow-up"])
def test_divergence_messages_say_what_was_kept(small, good_epochs, stop):
    """A sigmoid network runs ``good_epochs`` epochs at eta 3, then one at 3e40: its first update overflows
    the weights, and the next batch's cost is NaN, unless Stop is seen just before that batch."""
    X, y = _one_batch(small, 40)
    net = Net([784, 12, 10], seed=0)
    epoch_ends, asked = [], []
    blow_up = {"schedule": "step", "step_size": good_epochs, "gamma": 1e40} if good_epochs else {"eta": 3e40}
    options = {"eta": 3.0, **blow_up}
    result = net.fit((X, y), epochs=good_epochs + 2, batch_size=10,
                     callback=lambda p: epoch_ends.append(_copy(net)) if p.epoch_done else None,
                     should_stop=lambda: asked.append(1) or (stop and len(asked) == 4 * good_epochs + 2), **options)
    assert result.status == "diverged" and result.epochs == good_epochs
    assert len(asked) == 4 * good_epochs + 2 and len(net.history) == len(epoch_ends) == good_epochs
    _assert_parameters_equal(net, epoch_ends[-1] if good_epochs else Net([784, 12, 10], seed=0).weights
                             + Net([784, 12, 10], seed=0).biases)
    kept = {0: ("the weights from before training", "restored the weights from before training"),
            1: ("the weights from the end of epoch 1",
                "restored the weights from the end of epoch 1, so the network keeps the 1 epoch it finished"),
            2: ("the weights from the end of epoch 2",
                "restored the weights from the end of epoch 2, so the network keeps the 2 epochs it finished")}
    if stop:
        assert result.message == (f"stopped during epoch {good_epochs + 1}, but training diverged in that epoch "
                                  f"(the weights became NaN or infinite) at learning rate 3e+40; "
                                  f"{kept[good_epochs][1]}. Try a smaller learning rate.")
    else:
        assert result.message == ("training diverged (the cost became NaN or infinite) at learning rate 3e+40; "
                                  f"restored {kept[good_epochs][0]}. Try a smaller learning rate.")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_non_finite_validation_cost_is_divergence(small, validation):
    """One step at eta 1e20 leaves huge but finite weights: the training cost (taken before the step) is
    finite, but the validation cost overflows, so the epoch is not kept."""
    X, y = _one_batch(small, 40)
    net = Net([784, 12, 10], hidden="relu", output="softmax", cost="cross_entropy", init="he", seed=0)
    before = _copy(net)
    result = net.fit((X, y), epochs=2, eta=1e20, batch_size=40, validation=(validation.X[:50], validation.y[:50]))
    assert result.status == "diverged" and result.epochs == 0
    assert "restored the weights from before training" in result.message
    assert net.history == []
    _assert_parameters_equal(net, before)


def test_a_tuning_thread_choice_times_every_mini_batch(small, monkeypatch):
    """While the BLAS thread count is being tuned (big products, several cores), the loop asks for the
    setting before each mini-batch (``start``) and reports that batch's duration after it (``record``)."""
    events = []

    class Tuning:
        tuning = True

        def __init__(self, batch_size, sizes):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def start(self):
            events.append(("start", time.perf_counter()))

        def record(self, seconds):
            events.append(("record", time.perf_counter(), seconds))

    monkeypatch.setattr(training, "ThreadChoice", Tuning)
    X, y = _one_batch(small, 30)
    assert Net([784, 8, 10], seed=0).fit((X, y), epochs=2, eta=1.0) == FitResult("completed", 2)
    assert [event[0] for event in events] == ["start", "record"] * 6
    for (_, started), (_, recorded, seconds) in zip(events[::2], events[1::2]):
        assert 0 <= seconds <= recorded - started
