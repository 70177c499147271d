"""Net: construction, validation, gradients (checked against finite differences) and evaluation."""
import zlib

import numpy as np
import pytest

from core import Net, limits

HIDDEN = ("sigmoid", "tanh", "relu")
OUTPUT_COSTS = (("sigmoid", "quadratic"), ("sigmoid", "cross_entropy"),
                ("softmax", "cross_entropy"), ("softmax", "quadratic"))
DEPTH_SIZES = {0: [6, 4], 1: [6, 5, 4], 2: [6, 5, 5, 4], 3: [6, 5, 4, 5, 4]}


# ----- construction ----------------------------------------------------------------------------
@pytest.mark.parametrize("depth", range(5))
def test_shapes_for_every_depth(depth):
    sizes = [784] + [16 + depth] * depth + [10]
    net = Net(sizes, seed=0)
    assert net.sizes == sizes
    assert len(net.weights) == len(net.biases) == depth + 1
    for layer, (w, b) in enumerate(zip(net.weights, net.biases)):
        assert w.shape == (sizes[layer + 1], sizes[layer])
        assert b.shape == (sizes[layer + 1],)
        assert w.dtype == b.dtype == np.float32
    assert net.n_parameters == sum(w.size + b.size for w, b in zip(net.weights, net.biases))
    assert net.history == [] and net.test_accuracy is None


def test_float64_networks_keep_float64():
    net = Net([20, 7, 3], dtype=np.float64, seed=0)
    assert net.dtype == np.float64
    assert all(p.dtype == np.float64 for p in net.weights + net.biases)
    X = np.random.default_rng(0).random((5, 20))
    assert net.predict_proba(X).dtype == np.float64


def test_rejects_other_dtypes():
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        Net([4, 2], dtype=np.float16)


def test_same_seed_same_weights_and_different_seeds_differ():
    a, b, c = Net([30, 8, 4], seed=7), Net([30, 8, 4], seed=7), Net([30, 8, 4], seed=8)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.weights[0], c.weights[0])


@pytest.mark.parametrize("init", ["normal", "scaled", "xavier", "he"])
def test_initialisation_scales(init):
    net = Net([400, 200, 10], init=init, seed=3)
    std = float(net.weights[0].std())
    expected = {"normal": 1.0, "scaled": np.sqrt(1 / 400), "xavier": np.sqrt(2 / 600), "he": np.sqrt(2 / 400)}[init]
    assert std == pytest.approx(expected, rel=0.05)
    if init in ("normal", "scaled"):  # N(0, 1) biases, as in the book
        assert float(net.biases[0].std()) == pytest.approx(1.0, rel=0.2)
    else:
        assert not net.biases[0].any()


@pytest.mark.parametrize("sizes, message", [
    ([784, 0, 10], r"layer 1 size must be at least 1, got 0"),
    ([784, -3, 10], r"layer 1 size must be at least 1, got -3"),
    ([784, 3.5, 10], r"layer 1 size must be a whole number, got 3.5"),
    ([784, "a", 10], r"layer 1 size must be a whole number, got 'a'"),
    ([784, True, 10], r"layer 1 size must be a whole number"),
    ([784, None, 10], r"layer 1 size must be a whole number"),
    ([784], r"at least an input and an output layer"),
    ([], r"at least an input and an output layer"),
    (5, r"layer sizes must be a list of integers"),
    ([784, limits.MAX_LAYER_SIZE + 1, 10], r"layer 1 has \d+ neurons, more than the limit"),
    ([4000, 4000, 4000, 10], r"parameters, more than the limit"),
    ([4] + [3] * (limits.MAX_HIDDEN_LAYERS + 1) + [2], r"hidden layers is more than the limit"),
])
def test_bad_sizes_are_refused(sizes, message):
    with pytest.raises(ValueError, match=message):
        Net(sizes)


def test_whole_floats_and_numpy_integers_are_accepted():
    net = Net([np.int64(6), 5.0, np.int32(3)])
    assert net.sizes == [6, 5, 3] and all(type(s) is int for s in net.sizes)


def test_parameter_limit_can_be_lowered(monkeypatch):
    monkeypatch.setattr(limits, "MAX_PARAMETERS", 100)
    Net([10, 9])  # 99 parameters
    with pytest.raises(ValueError, match="110 parameters, more than the limit of 100"):
        Net([10, 10])


@pytest.mark.parametrize("option, value, what", [
    ("hidden", "swish", "hidden activation"),
    ("output", "tanh", "output activation"),
    ("cost", "hinge", "cost"),
    ("init", "zeros", "initialisation"),
])
def test_unknown_choices_are_refused(option, value, what):
    with pytest.raises(ValueError, match=f"unknown {what} '{value}'; choose one of"):
        Net([6, 4], **{option: value})


# ----- gradient check ------------------------------------------------------------------------
def _pre_activations(net, X):
    """Hidden-layer pre-activations z for rows X (float64 net)."""
    zs, a = [], X
    for w, b in zip(net.weights[:-1], net.biases[:-1]):
        z = a @ w.T + b
        zs.append(z)
        a = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0)}[net.hidden](z)
    return zs


def _inputs_away_from_kinks(net, rng, n=7, margin=1e-3):
    """Inputs whose hidden pre-activations are all at least ``margin`` from zero (relu's kink)."""
    for _ in range(1000):
        X = rng.normal(size=(n, net.sizes[0]))
        if all(np.abs(z).min() > margin for z in _pre_activations(net, X)):
            return X
    raise AssertionError("could not find inputs away from relu kinks")


def _relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


@pytest.mark.parametrize("depth", sorted(DEPTH_SIZES))
@pytest.mark.parametrize("output_cost", OUTPUT_COSTS, ids="/".join)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradients_match_finite_differences(hidden, output_cost, depth):
    output, cost = output_cost
    sizes = DEPTH_SIZES[depth]
    rng = np.random.default_rng(zlib.crc32(f"{hidden}/{output}/{cost}/{depth}".encode()))
    net = Net(sizes, hidden=hidden, output=output, cost=cost, init="xavier", seed=depth, dtype=np.float64)
    for b in net.biases:  # non-zero biases, so their gradients are tested too
        b[:] = rng.normal(scale=0.5, size=b.shape)
    X = _inputs_away_from_kinks(net, rng)
    y = rng.integers(0, sizes[-1], len(X))

    grads_w, grads_b = net.gradients(X, y)
    h = 1e-6
    for params, grads in ((net.weights, grads_w), (net.biases, grads_b)):
        for param, grad in zip(params, grads):
            assert grad.shape == param.shape
            numeric = np.empty_like(param)
            for index in np.ndindex(param.shape):
                original = param[index]
                param[index] = original + h
                plus = net.evaluate(X, y)["cost"]
                param[index] = original - h
                minus = net.evaluate(X, y)["cost"]
                param[index] = original
                numeric[index] = (plus - minus) / (2 * h)
            assert np.abs(numeric).max() > 1e-8, "the finite differences should see a gradient"
            assert _relative_error(grad, numeric) < 1e-5, (grad, numeric)


def test_gradients_do_not_alias_between_calls():
    net = Net([6, 5, 4], dtype=np.float64, seed=0)
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(3, 6)), np.array([0, 1, 2])
    first_w, _ = net.gradients(X, y)
    kept = first_w[0].copy()
    net.gradients(rng.normal(size=(3, 6)), np.array([3, 3, 3]))
    np.testing.assert_array_equal(first_w[0], kept)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
@pytest.mark.parametrize("depth", [0, 1, 2])
def test_input_gradient_matches_finite_differences_of_log_probability(hidden, output, depth):
    sizes = DEPTH_SIZES[depth]
    rng = np.random.default_rng(depth)
    net = Net(sizes, hidden=hidden, output=output, init="xavier", seed=5, dtype=np.float64)
    X = _inputs_away_from_kinks(net, rng, n=3)
    targets = np.array([0, 3, 1])
    gradient = net.input_gradient(X, targets)
    assert gradient.shape == X.shape
    h = 1e-6
    numeric = np.empty_like(X)
    for index in np.ndindex(X.shape):
        row, col = index
        shifted = X[row].copy()
        shifted[col] += h
        plus = np.log(net.predict_proba(shifted)[0, targets[row]])
        shifted[col] -= 2 * h
        minus = np.log(net.predict_proba(shifted)[0, targets[row]])
        numeric[index] = (plus - minus) / (2 * h)
    assert _relative_error(gradient, numeric) < 1e-5


# ----- prediction and evaluation ---------------------------------------------------------------
@pytest.fixture(scope="module")
def evaluation_data(mnist):
    test = mnist[2]
    return test.X[:600], test.y[:600]


def test_predict_shapes_and_probabilities(small_trained_net, evaluation_data):
    X, y = evaluation_data
    proba = small_trained_net.predict_proba(X)
    assert proba.shape == (len(X), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert (proba >= 0).all()
    labels = small_trained_net.predict(X)
    assert labels.shape == (len(X),)
    np.testing.assert_array_equal(labels, proba.argmax(axis=1))
    # one example as a flat vector or an original-style (784, 1) column
    assert small_trained_net.predict_proba(X[0]).shape == (1, 10)
    np.testing.assert_allclose(small_trained_net.predict_proba(X[0].reshape(784, 1))[0], proba[0], rtol=1e-6)
    assert small_trained_net.predict(np.empty((0, 784))).shape == (0,)


def test_prediction_is_chunk_independent(small_trained_net, mnist):
    """Rows predicted together or in other chunks agree. In float32 a BLAS may sum a dot product
    in another order for another matrix shape (last-bit differences, ~1e-6 relative on some
    machines); in float64 the same rows must agree to rounding."""
    X = mnist[2].X[:4500]  # more than one evaluation chunk
    wide = Net(small_trained_net.sizes, dtype=np.float64)
    wide.set_parameters(small_trained_net.copy_parameters())
    for net, rtol in ((small_trained_net, 1e-4), (wide, 1e-10)):
        whole = net.predict_proba(X)
        parts = np.concatenate([net.predict_proba(X[i:i + 700]) for i in range(0, len(X), 700)])
        np.testing.assert_allclose(whole, parts, rtol=rtol, atol=1e-7)


def test_predict_rejects_wrong_width(small_trained_net):
    with pytest.raises(ValueError, match="expects 784 inputs per example, got 100"):
        small_trained_net.predict(np.zeros((3, 100)))


def test_evaluate_and_confusion_matrix_agree(small_trained_net, evaluation_data):
    X, y = evaluation_data
    scores = small_trained_net.evaluate(X, y)
    assert set(scores) == {"accuracy", "cost"}
    assert scores["accuracy"] == pytest.approx(np.mean(small_trained_net.predict(X) == y))
    assert scores["accuracy"] > 0.5  # it learned something
    assert np.isfinite(scores["cost"]) and scores["cost"] > 0
    assert small_trained_net.evaluate((X, y)) == scores  # a dataset pair works too

    matrix = small_trained_net.confusion_matrix(X, y)
    assert matrix.shape == (10, 10) and np.issubdtype(matrix.dtype, np.integer)
    assert matrix.sum() == len(y)
    np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(y, minlength=10))
    np.testing.assert_array_equal(matrix.sum(axis=0), np.bincount(small_trained_net.predict(X), minlength=10))
    assert np.trace(matrix) / matrix.sum() == pytest.approx(scores["accuracy"])

    per_class = small_trained_net.per_class_accuracy(X, y)
    assert per_class.shape == (10,)
    for digit in range(10):
        mask = y == digit
        assert per_class[digit] == pytest.approx(np.mean(small_trained_net.predict(X[mask]) == digit))


def test_per_class_accuracy_is_nan_for_absent_classes(small_trained_net, evaluation_data):
    X, y = evaluation_data
    keep = y != 4
    per_class = small_trained_net.per_class_accuracy(X[keep], y[keep])
    assert np.isnan(per_class[4])
    assert np.isfinite(np.delete(per_class, 4)).all()


def test_quadratic_cost_matches_its_definition():
    net = Net([5, 3], dtype=np.float64, seed=2)
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(4, 5)), np.array([0, 2, 1, 1])
    a = 1 / (1 + np.exp(-(X @ net.weights[0].T + net.biases[0])))
    expected = 0.5 * np.sum((a - np.eye(3)[y]) ** 2) / len(y)
    assert net.evaluate(X, y)["cost"] == pytest.approx(expected, rel=1e-12)


def test_test_prints_and_returns_percent(small_trained_net, evaluation_data, capsys):
    X, y = evaluation_data
    net = Net.from_bytes(small_trained_net.to_bytes())  # a copy: test() records test_accuracy
    percent = net.test((X, y))
    accuracy = net.evaluate(X, y)["accuracy"]
    assert percent == pytest.approx(100 * accuracy)
    assert net.test_accuracy == pytest.approx(accuracy)
    out = capsys.readouterr().out
    assert f"{int(round(accuracy * len(y)))} / {len(y)} correct ({100 * accuracy:.2f}%)" in out


def test_test_accepts_the_original_format(small_trained_net, evaluation_data, capsys):
    X, y = evaluation_data
    original = [(x.reshape(784, 1), int(label)) for x, label in zip(X[:200], y[:200])]
    net = Net.from_bytes(small_trained_net.to_bytes())
    assert net.test(original) == pytest.approx(100 * net.evaluate(X[:200], y[:200])["accuracy"])
    assert "/ 200 correct" in capsys.readouterr().out


def test_repr_mentions_architecture():
    text = repr(Net([6, 5, 4], hidden="tanh", output="softmax", cost="cross_entropy"))
    assert "[6, 5, 4]" in text and "tanh" in text and "softmax" in text and "cross_entropy" in text


def test_evaluation_refuses_labels_out_of_range():
    net = Net([6, 4, 3], seed=0)
    X = np.zeros((2, 6))
    for call in (net.evaluate, net.confusion_matrix, net.per_class_accuracy):
        with pytest.raises(ValueError, match="labels must be between 0 and 2"):
            call(X, np.array([0, 3]))
    with pytest.raises(ValueError, match="labels must be between 0 and 2"):
        net.gradients(X, np.array([-1, 0]))
