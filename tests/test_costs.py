"""Output layers and costs against the book's formulas, written out plainly: batch means over
several examples, stability at extreme scores, and the gradient Imagine ascends."""
import warnings

import numpy as np
import pytest

from core.costs import class_probabilities, log_probability_delta, mean_cost, output_activation

OUTPUTS = ["sigmoid", "softmax"]


def batch(seed=0, n=6, k=4, scale=3.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, (n, k)), rng.integers(0, k, n)


def plain_output(output, z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True) if output == "softmax" else 1 / (1 + np.exp(-z))


def one_hot(labels, k):
    return np.eye(k)[labels]


def plain_cost(output, cost, z, labels):
    """The book's per-example costs, averaged over the batch."""
    a, y = plain_output(output, z), one_hot(labels, z.shape[1])
    if cost == "quadratic":
        per_example = 0.5 * ((a - y) ** 2).sum(axis=1)
    elif output == "softmax":
        per_example = -np.log(a[np.arange(len(labels)), labels])
    else:
        per_example = -(y * np.log(a) + (1 - y) * np.log(1 - a)).sum(axis=1)
    return per_example.mean()


@pytest.mark.parametrize("output", OUTPUTS)
def test_the_output_layer_applies_its_activation_into_the_buffer_given(output):
    z, _ = batch()
    out = np.full_like(z, np.nan)
    assert output_activation(output, z, out=out) is out
    np.testing.assert_allclose(out, plain_output(output, z), rtol=1e-12)
    np.testing.assert_array_equal(output_activation(output, z), out)


@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy"])
@pytest.mark.parametrize("output", OUTPUTS)
def test_the_cost_is_the_books_per_example_cost_averaged_over_the_batch(output, cost):
    for seed, n in [(0, 1), (1, 6), (2, 13)]:
        z, labels = batch(seed, n)
        value = mean_cost(output, cost, z, plain_output(output, z), labels)
        assert type(value) is float
        assert value == pytest.approx(plain_cost(output, cost, z, labels), rel=1e-12)


@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy"])
@pytest.mark.parametrize("output", OUTPUTS)
def test_the_cost_leaves_float64_inputs_alone(output, cost):
    z, labels = batch(6)
    a = plain_output(output, z)
    z_before, a_before = z.copy(), a.copy()
    mean_cost(output, cost, z, a, labels)
    np.testing.assert_array_equal(z, z_before)
    np.testing.assert_array_equal(a, a_before)


@pytest.mark.parametrize("output", OUTPUTS)
def test_the_cost_does_not_change_its_inputs_and_reads_float32_in_float64(output):
    z, labels = batch(3)
    z32 = z.astype(np.float32)
    a32 = plain_output(output, z32.astype(np.float64)).astype(np.float32)
    z_before, a_before = z32.copy(), a32.copy()
    for cost in ["quadratic", "cross_entropy"]:
        value = mean_cost(output, cost, z32, a32, labels)
        expected = plain_cost(output, cost, z32.astype(np.float64), labels)
        assert value == pytest.approx(expected, rel=1e-6)
    np.testing.assert_array_equal(z32, z_before)
    np.testing.assert_array_equal(a32, a_before)


@pytest.mark.parametrize("output", OUTPUTS)
def test_cross_entropy_is_finite_and_right_for_saturated_outputs(output):
    """Scores of ±1000 saturate the outputs to exactly 0 and 1: the cost comes from z, not log(a)."""
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]])
    labels = np.array([1, 1])  # wrong by 2000 in row 0, right in row 1
    a = output_activation(output, z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = mean_cost(output, "cross_entropy", z, a, labels)
    if output == "softmax":
        expected = (2000.0 + np.log(1 + np.exp(-1000.0)) + np.log(1 + 2 * np.exp(-1000.0))) / 2
    else:  # softplus(z) - y z summed over the outputs of each row
        softplus = np.logaddexp(0, z)
        expected = (softplus.sum() - z[[0, 1], [1, 1]].sum()) / 2
    assert value == pytest.approx(expected, rel=1e-12)


def test_softmax_cross_entropy_is_stable_per_row_whatever_the_other_rows_hold():
    """Each row is shifted by its own maximum: a row of -1000s next to a row of 0s costs log 3, not infinity."""
    z = np.array([[-1000.0, -1000.0, -1000.0], [0.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = mean_cost("softmax", "cross_entropy", z, output_activation("softmax", z), np.array([0, 2]))
    assert value == pytest.approx(np.log(3), rel=1e-12)


def test_softmax_probabilities_are_passed_on_bit_for_bit():
    """What Draw shows is exactly the network's softmax output, not renormalised (float32 rows sum to 1 only
    to rounding)."""
    z, _ = batch(7, n=50, k=10)
    a = output_activation("softmax", z.astype(np.float32))
    assert not np.all(a.sum(axis=1) == 1.0)  # so renormalising would change some values
    np.testing.assert_array_equal(class_probabilities("softmax", a), a)


def test_softmax_cross_entropy_of_equal_scores_is_log_k():
    z = np.full((3, 10), 7.0)
    assert mean_cost("softmax", "cross_entropy", z, plain_output("softmax", z), np.array([0, 4, 9])) \
        == pytest.approx(np.log(10), rel=1e-12)


@pytest.mark.parametrize("output", OUTPUTS)
def test_class_probabilities_sum_to_one_per_row(output):
    z, _ = batch(4)
    a = plain_output(output, z)
    p = class_probabilities(output, a)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p, a / a.sum(axis=1, keepdims=True), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_outputs_that_are_all_zero_give_zeros_not_nan(dtype):
    a = np.array([[0.0, 0.0, 0.0], [0.2, 0.6, 0.2]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = class_probabilities("sigmoid", a)
    np.testing.assert_array_equal(p[0], 0.0)
    np.testing.assert_allclose(p[1], [0.2, 0.6, 0.2], rtol=1e-6)


@pytest.mark.parametrize("output", OUTPUTS)
def test_the_log_probability_gradient_matches_a_finite_difference(output):
    z, _ = batch(5, n=4, k=5, scale=1.5)
    targets = np.array([0, 2, 4, 2])
    a = plain_output(output, z)
    a_before = a.copy()
    delta = log_probability_delta(output, a, targets)
    np.testing.assert_array_equal(a, a_before)

    def log_p(scores):
        return np.log(class_probabilities(output, plain_output(output, scores))[np.arange(4), targets])

    h = 1e-6
    numeric = np.empty_like(z)
    for j in range(z.shape[1]):
        step = np.zeros_like(z)
        step[:, j] = h
        numeric[:, j] = (log_p(z + step) - log_p(z - step)) / (2 * h)
    np.testing.assert_allclose(delta, numeric, rtol=1e-5, atol=1e-8)


def test_the_sigmoid_log_probability_gradient_is_finite_for_a_zero_target_output():
    a = np.array([[0.0, 0.5, 0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        delta = log_probability_delta("sigmoid", a, np.array([0]))
    assert np.all(np.isfinite(delta))
    np.testing.assert_array_equal(delta[0, 0], 0.0)  # a (1 - a) is 0 there
    np.testing.assert_allclose(delta[0, 1:], -1.0 * 0.25, rtol=1e-12)  # -1/Σa · a(1 - a)
