"""Training: accuracy on an MNIST subset, the original data format, progress callbacks,
stopping, divergence, optimisers, schedules, augmentation and refusals of bad settings."""
import math

import numpy as np
import pytest

from core import FitResult, Net, Progress, limits
from core.augment import random_affine
from core.optimizers import learning_rate

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


def test_step_and_cosine_schedules():
    assert [learning_rate("constant", 2.0, e, 5) for e in range(5)] == [2.0] * 5
    assert [learning_rate("step", 1.0, e, 7, step_size=3, gamma=0.1) for e in range(7)] == pytest.approx(
        [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01])
    cosine = [learning_rate("cosine", 2.0, e, 11) for e in range(11)]
    assert cosine[0] == pytest.approx(2.0) and cosine[-1] == pytest.approx(0.02)
    assert cosine[5] == pytest.approx((2.0 + 0.02) / 2)
    assert all(a > b for a, b in zip(cosine, cosine[1:]))
    assert learning_rate("cosine", 2.0, 0, 1) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'linear'"):
        learning_rate("linear", 1.0, 0, 1)


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
