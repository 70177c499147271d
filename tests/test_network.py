"""Net: construction, validation, gradients (checked against finite differences), the training engine
(held equal to the book's backpropagation) and evaluation."""
import datetime
import warnings
import zlib

import numpy as np
import pytest

from core import Net, backprop, limits, reference
from core import network
from core.activations import HIDDEN as HIDDEN_ENGINE
from core.costs import mean_cost
from core.network import confusion_counts

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


def test_creation_time_is_utc_to_the_second():
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    created = datetime.datetime.fromisoformat(Net([4, 2]).created)
    after = datetime.datetime.now(datetime.timezone.utc)
    assert created.utcoffset() == datetime.timedelta(0)
    assert created.microsecond == 0 and before <= created <= after


def test_seed_is_remembered_and_saved_with_the_model():
    net = Net([4, 2], seed=7)
    assert net.seed == 7 and Net.from_bytes(net.to_bytes()).seed == 7


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
def _rows_away_from_kinks(net, rng, n, dtype=np.float64, margin=1e-3):
    """n input rows of ``dtype`` whose hidden pre-activations are all at least ``margin`` from zero: relu's
    kink, where neither finite differences nor float32 rounding agree on a side."""
    X = rng.normal(size=(4 * n, net.sizes[0])).astype(dtype)
    zs, _ = reference.feedforward(net, X.astype(np.float64))
    clear = np.all([np.abs(z).min(axis=0) > margin for z in zs[:-1]], axis=0) if len(zs) > 1 else np.ones(len(X), bool)
    assert clear.sum() >= n, "could not find inputs away from relu kinks"
    return np.ascontiguousarray(X[clear][:n])


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
    X = _rows_away_from_kinks(net, rng, 7)
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
    X = _rows_away_from_kinks(net, rng, 3)
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


# ----- the training engine against the book's backpropagation -----------------------------
# Widths chosen so that a 128-example batch takes both of the engine's paths: 130-unit layers
# reach its direct-BLAS size (units x batch >= 16,384) and 70-unit layers do not.
ENGINE_SIZES = {1: [40, 10], 2: [40, 130, 10], 3: [40, 70, 130, 10], 4: [40, 130, 70, 130, 10]}
ENGINE_BATCH = 128


def _engine(net, direct, monkeypatch):
    """A training engine with the direct BLAS path on (its calls recorded) or off (NumPy only)."""
    if not direct:
        monkeypatch.setattr(backprop, "find_gemm", lambda: None)
    engine = backprop.Backprop(net, ENGINE_BATCH)
    taken = []
    if direct:
        gemm = engine._gemm
        assert gemm is not backprop._no_gemm, "the direct BLAS path is missing on this machine"

        def recording(*args):
            taken.append(gemm(*args))
            return taken[-1]

        engine._gemm = recording
    return engine, taken


def _close(actual, expected, dtype):
    assert actual.dtype == dtype and actual.shape == expected.shape
    assert _relative_error(actual.astype(np.float64), expected) < (1e-12 if dtype == np.float64 else 2e-5)


@pytest.mark.parametrize("direct", [True, False], ids=["direct BLAS", "NumPy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("depth", sorted(ENGINE_SIZES))
@pytest.mark.parametrize("output_cost", OUTPUT_COSTS, ids="/".join)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_training_engine_equals_the_books_backpropagation(hidden, output_cost, depth, dtype, direct, monkeypatch):
    output, cost = output_cost
    net = Net(ENGINE_SIZES[depth], hidden=hidden, output=output, cost=cost, init="xavier", seed=depth, dtype=dtype)
    rng = np.random.default_rng(zlib.crc32(f"{hidden}/{output}/{cost}/{depth}".encode()))
    for b in net.biases:
        b[:] = rng.normal(scale=0.5, size=b.shape)
    exact = Net(net.sizes, hidden=hidden, output=output, cost=cost, dtype=np.float64)
    exact.weights = [w.astype(np.float64) for w in net.weights]
    exact.biases = [b.astype(np.float64) for b in net.biases]
    engine, taken = _engine(net, direct, monkeypatch)
    for m in (ENGINE_BATCH, 37, ENGINE_BATCH):  # a full batch, an epoch's shorter last one, a full one again
        X, labels = _rows_away_from_kinks(exact, rng, m, dtype), rng.integers(0, net.sizes[-1], m)
        zs, activations = reference.feedforward(exact, X.astype(np.float64))
        _close(engine.forward(X), activations[-1].T, dtype)

        summed_cost = engine.error(np.eye(net.sizes[-1], dtype=dtype)[labels])
        expected_cost = m * mean_cost(output, cost, zs[-1].T, activations[-1].T, labels)
        assert summed_cost == pytest.approx(expected_cost, rel=1e-12 if dtype == np.float64 else 1e-5)

        grads_w, grads_b = engine.propagate(X, 1.0 / m)
        nabla_w, nabla_b = reference.backprop(exact, X.astype(np.float64), labels)
        for grad, nabla in zip(grads_w + grads_b, nabla_w + nabla_b):
            _close(grad, nabla, dtype)
        assert engine.direct_done == [False] * len(net.weights)
    # the 130-unit hidden layers went through the direct BLAS call when it is on
    assert (True in taken) == (direct and depth > 1)


@pytest.mark.parametrize("direct", [True, False], ids=["direct BLAS", "NumPy"])
def test_training_engine_adds_the_step_into_the_optimisers_targets(direct, monkeypatch):
    """propagate(X, -eta/m, targets): each target becomes step + beta x target in the gradient's own product
    (SGD passes the weights themselves, momentum its velocities); layers without a target get the step in
    grad_w. The weights are read for the error below a layer before that layer's target is written."""
    net = Net(ENGINE_SIZES[3], hidden="sigmoid", output="softmax", cost="cross_entropy", init="xavier",
              seed=3, dtype=np.float64)
    rng = np.random.default_rng(3)
    engine, _ = _engine(net, direct, monkeypatch)
    X, labels = _rows_away_from_kinks(net, rng, ENGINE_BATCH), rng.integers(0, 10, ENGINE_BATCH)
    nabla_w, nabla_b = reference.backprop(net, X, labels)
    weights_before = [w.copy() for w in net.weights]
    velocity = rng.normal(size=net.weights[2].shape)
    velocity_before = velocity.copy()
    eta = 0.5

    engine.forward(X)
    engine.error(np.eye(10)[labels])
    grads_w, grads_b = engine.propagate(X, -eta / ENGINE_BATCH, [(net.weights[0], 1.0), None, (velocity, 0.9)])

    assert engine.direct_done == [direct, False, direct]
    if direct:
        np.testing.assert_allclose(net.weights[0], weights_before[0] - eta * nabla_w[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(velocity, 0.9 * velocity_before - eta * nabla_w[2], rtol=1e-12, atol=1e-14)
    else:
        for layer in (0, 2):
            np.testing.assert_allclose(grads_w[layer], -eta * nabla_w[layer], rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(net.weights[0], weights_before[0])
        np.testing.assert_array_equal(velocity, velocity_before)
    np.testing.assert_allclose(grads_w[1], -eta * nabla_w[1], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(net.weights[1], weights_before[1])
    np.testing.assert_array_equal(net.weights[2], weights_before[2])
    for grad, nabla in zip(grads_b, nabla_b):
        np.testing.assert_allclose(grad, -eta * nabla, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("output_cost", OUTPUT_COSTS, ids="/".join)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_the_books_gradients_come_in_the_networks_dtype(hidden, output_cost):
    """Rows of any float type are taken in the network's dtype, as training takes them."""
    output, cost = output_cost
    net = Net([6, 5, 4], hidden=hidden, output=output, cost=cost, seed=0)
    rows, labels = np.random.default_rng(0).normal(size=(3, 6)), np.array([0, 3, 1])
    exact = reference.backprop(net, rows.astype(np.float32), labels)
    for gradients in (reference.backprop(net, rows, labels), net.gradients(rows, labels)):
        for gradient, expected in zip(gradients[0] + gradients[1], exact[0] + exact[1]):
            assert gradient.dtype == np.float32
            np.testing.assert_array_equal(gradient, expected)


def test_the_books_relu_derivative_is_0_at_the_kink_as_in_the_engine():
    np.testing.assert_array_equal(reference.relu_prime(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 1.0])
    grad = np.empty(3)
    np.testing.assert_array_equal(HIDDEN_ENGINE["relu"].grad(np.array([0.0, 0.0, 2.0]), out=grad), [0.0, 0.0, 1.0])


def test_the_books_softmax_takes_scores_of_any_size():
    """Each column (example) shifted by its own maximum: no overflow, and no column lost to underflow."""
    scores = np.array([[1000.0, -1000.0], [999.0, -1001.0], [0.0, -1002.0]])
    first, second = 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(-1.0) + np.exp(-2.0))
    expected = np.array([[first, second], [first * np.exp(-1.0), second * np.exp(-1.0)], [0.0, second * np.exp(-2.0)]])
    np.testing.assert_allclose(reference.softmax(scores), expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("rows", [0, 9])
def test_training_engine_refuses_a_batch_its_buffers_cannot_hold(rows):
    engine = backprop.Backprop(Net([6, 5, 4], seed=0), 8)
    engine.forward(np.zeros((8, 6), np.float32))
    with pytest.raises(ValueError, match=f"^a batch of {rows} examples does not fit buffers for 8$"):
        engine.forward(np.zeros((rows, 6), np.float32))


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_rows_give_an_empty_probability_table_of_the_networks_dtype(dtype):
    net = Net([6, 8, 3], seed=0, dtype=dtype)
    proba = net.predict_proba(np.empty((0, 6)))
    assert proba.shape == (0, 3) and proba.dtype == dtype
    assert net.predict_proba(np.ones((2, 6))).dtype == dtype


def test_one_input_networks_read_a_flat_vector_as_one_value_per_example():
    net = Net([1, 3], seed=0, dtype=np.float64)
    values = np.array([0.1, -0.4, 2.0])
    proba = net.predict_proba(values)
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba, net.predict_proba(values.reshape(3, 1)), rtol=1e-12)
    assert net.predict_proba(0.5).shape == (1, 3)  # a single number is one example


def test_a_single_number_is_one_example_of_one_input():
    with pytest.raises(ValueError, match="expects 6 inputs per example, got 1"):
        Net([6, 3], seed=0).predict(0.5)


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


# ----- evaluation details --------------------------------------------------------------------
def test_confusion_counts_defaults_to_ten_digit_classes():
    """pages/evaluate.py relies on the default of 10 classes."""
    matrix = confusion_counts(np.array([0, 3, 3]), np.array([0, 3, 1]))
    expected = np.zeros((10, 10), int)
    expected[0, 0] = expected[3, 3] = expected[3, 1] = 1
    np.testing.assert_array_equal(matrix, expected)


def test_confusion_counts_is_full_size_when_the_last_classes_never_occur():
    matrix = confusion_counts(np.array([0, 1, 1]), np.array([1, 1, 0]), classes=4)
    assert matrix.shape == (4, 4)
    np.testing.assert_array_equal(matrix[:2, :2], [[0, 1], [1, 1]])
    assert not matrix[2:].any() and not matrix[:, 2:].any()


def test_confusion_matrix_and_per_class_accuracy_for_other_class_counts():
    """A 3-class network gives 3x3 counts, from (X, y) or a dataset pair."""
    net = Net([4, 3], dtype=np.float64, seed=0)
    X = np.random.default_rng(5).normal(size=(30, 4))
    predicted = net.predict(X)
    y = (predicted + (np.arange(30) % 4 == 0)) % 3  # every fourth example labelled wrongly
    expected = np.zeros((3, 3), int)
    np.add.at(expected, (y, predicted), 1)
    for matrix in (net.confusion_matrix(X, y), net.confusion_matrix((X, y))):
        np.testing.assert_array_equal(matrix, expected)
    with np.errstate(invalid="ignore"):
        expected_per_class = np.diag(expected) / expected.sum(axis=1)
    np.testing.assert_allclose(net.per_class_accuracy((X, y)), expected_per_class)


def test_per_class_accuracy_counts_a_class_seen_once():
    net = Net([4, 3], dtype=np.float64, seed=0)
    X = np.random.default_rng(5).normal(size=(3, 4))
    predicted = net.predict(X)
    per_class = net.per_class_accuracy(X[:1], predicted[:1])  # one example, classified correctly
    assert per_class[predicted[0]] == 1.0
    assert np.isnan(np.delete(per_class, predicted[0])).all()


def test_per_class_accuracy_of_an_absent_class_does_not_warn():
    net = Net([4, 3], dtype=np.float64, seed=0)
    X = np.random.default_rng(5).normal(size=(5, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_class = net.per_class_accuracy(X, np.zeros(5, int))
    assert np.isnan(per_class[1:]).all()


def test_evaluate_adds_up_every_chunk():
    """More rows than one evaluation chunk: the cost and accuracy are over all of them."""
    net = Net([5, 3], dtype=np.float64, seed=2)
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(4500, 5)), rng.integers(0, 3, 4500)
    a = 1 / (1 + np.exp(-(X @ net.weights[0].T + net.biases[0])))
    expected_cost = 0.5 * np.sum((a - np.eye(3)[y]) ** 2) / len(y)
    scores = net.evaluate(X, y)
    assert scores["cost"] == pytest.approx(expected_cost, rel=1e-10)
    assert scores["accuracy"] == pytest.approx(np.mean(a.argmax(axis=1) == y))


def _rounding_sensitive_net():
    """A float32 [2, 2] net whose scores are 2^30 (x0 - x1) and its negative.

    For x = (1 + 2^-30, 1) the scores are 1 and -1 in float64, but 0 once x is rounded to
    float32 (1 + 2^-30 rounds to 1): outputs (0.5, 0.5) and a quadratic cost of 0.25 for label 0.
    """
    net = Net([2, 2], seed=0)
    net.weights[0][:] = [[2.0 ** 30, -2.0 ** 30], [-2.0 ** 30, 2.0 ** 30]]
    net.biases[0][:] = 0
    return net, np.array([[1 + 2.0 ** -30, 1.0]]), np.array([0])


def test_float32_networks_round_their_inputs_to_float32():
    net, X, y = _rounding_sensitive_net()
    assert net.evaluate(X, y)["cost"] == pytest.approx(0.25, rel=1e-6)
    np.testing.assert_allclose(net.predict_proba(X), [[0.5, 0.5]], rtol=1e-6)
    rounded = X.astype(np.float32)
    for mine, expected in zip(*(sum(net.gradients(data, y), []) for data in (X, rounded))):
        assert mine.dtype == np.float32
        np.testing.assert_allclose(mine, expected, rtol=1e-6, atol=1e-6)
    # by hand: a = 0.5, dC/dz = (a - y) a (1 - a) = (-0.125, 0.125), dC/dw = dC/dz x
    grads_w, grads_b = net.gradients(X, y)
    np.testing.assert_allclose(grads_b[0], [-0.125, 0.125], rtol=1e-6)
    np.testing.assert_allclose(grads_w[0], [[-0.125, -0.125], [0.125, 0.125]], rtol=1e-6)


def test_test_accepts_every_label_of_a_network_with_a_narrow_hidden_layer(capsys):
    net = Net([6, 2, 3], seed=0)
    X = np.zeros((3, 6))
    percent = net.test((X, np.array([0, 1, 2])))
    assert percent == pytest.approx(100 / 3)
    assert "1 / 3 correct" in capsys.readouterr().out
    with pytest.raises(ValueError, match="labels must be between 0 and 2"):
        net.test((X, np.array([0, 1, 3])))


def test_save_and_load_default_to_the_default_path(tmp_path, monkeypatch):
    path = tmp_path / "models" / "network.npz"
    monkeypatch.setattr(network, "DEFAULT_SAVE_PATH", path)
    net = Net([6, 5, 3], seed=1)
    assert net.save() == path and path.is_file()
    loaded = Net.load()
    _assert_same_parameters(loaded, net)
    other = Net([6, 5, 3], seed=2)
    assert other.load() is other
    _assert_same_parameters(other, net)


# ----- training through train(), copies --------------------------------------------------------
def _training_data(n=40, inputs=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, inputs)), rng.integers(0, classes, n)


def _assert_same_parameters(a, b):
    for pa, pb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(pa, pb, rtol=1e-9, atol=1e-12)


def test_train_is_one_epoch_of_fit_with_the_same_settings():
    data = _training_data()
    for args, options in (((0.5,), {}), ((0.5, 4), {"optimizer": "momentum", "seed": 3})):
        trained, fitted = Net([6, 5, 3], dtype=np.float64, seed=1), Net([6, 5, 3], dtype=np.float64, seed=1)
        trained.train(data, *args, **options)
        eta, batch_size = (args + (10,))[:2]  # train's batch size defaults to 10, as in the original
        fitted.fit(data, epochs=1, eta=eta, batch_size=batch_size, **options)
        assert len(trained.history) == 1
        _assert_same_parameters(trained, fitted)
        assert not np.allclose(trained.weights[0], Net([6, 5, 3], dtype=np.float64, seed=1).weights[0])


def test_copy_is_independent_and_trains_like_the_original():
    data = _training_data()
    net = Net([6, 5, 3], dtype=np.float64, seed=1)
    net.fit(data, epochs=1, eta=0.5, batch_size=8)
    twin = net.copy()
    assert isinstance(twin, Net) and twin.sizes == net.sizes and twin.history == net.history
    _assert_same_parameters(twin, net)
    before = [p.copy() for p in net.weights + net.biases]
    history_before = [dict(entry) for entry in net.history]

    twin.fit(data, epochs=1, eta=0.5, batch_size=8)  # training the copy leaves the original alone
    twin.history[0]["train_cost"] = -1.0
    for p, kept in zip(net.weights + net.biases, before):
        np.testing.assert_array_equal(p, kept)
    assert net.history == history_before and len(net.history) == 1

    net.fit(data, epochs=1, eta=0.5, batch_size=8)  # the same shuffles: the copy's own random stream
    _assert_same_parameters(twin, net)
