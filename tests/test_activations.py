"""Activation functions against their textbook formulas: values, derivatives from the outputs,
the ``out=`` buffers the engine passes in, and numerical stability at the extremes."""
import warnings

import numpy as np
import pytest

from core.activations import HIDDEN, sigmoid, sigmoid_via_tanh, softmax

REFERENCE = {  # f(z) and f'(z), written the plain way
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: (z > 0).astype(float)),
}


def scores(dtype, shape=(7, 5), seed=0):
    """Pre-activations over the range a network sees, away from relu's kink at 0."""
    z = np.random.default_rng(seed).uniform(-6, 6, shape)
    z[np.abs(z) < 1e-3] = 0.5
    return z.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_each_hidden_activation_matches_its_formula_and_fills_the_buffer_given(name, dtype):
    activation, (f, _) = HIDDEN[name], REFERENCE[name]
    z = scores(dtype)
    out = np.full_like(z, np.nan)
    result = activation.forward(z, out)
    assert result is out and result.dtype == dtype
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, f(z.astype(np.float64)), rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(activation.forward(z), out)  # and without a buffer: a new array
    assert np.array_equal(z, scores(dtype))  # the input is left alone


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_each_derivative_is_computed_from_the_output_alone_into_the_buffer_given(name, dtype):
    activation, (_, df) = HIDDEN[name], REFERENCE[name]
    z = scores(dtype)
    a = activation.forward(z)
    a_before = a.copy()
    out = np.full_like(z, np.nan)
    result = activation.grad(a, out)
    assert result is out and result.dtype == dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out, df(z.astype(np.float64)), rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(a, a_before)


@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_each_derivative_agrees_with_a_finite_difference(name):
    activation = HIDDEN[name]
    z, h = scores(np.float64), 1e-6
    numeric = (activation.forward(z + h) - activation.forward(z - h)) / (2 * h)
    np.testing.assert_allclose(activation.grad(activation.forward(z), np.empty_like(z)), numeric,
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_output_sigmoid_keeps_tiny_probabilities_accurate_without_overflow(dtype):
    z = np.array([-1000.0, -80.0, -60.0, -20.0, 0.0, 20.0, 1000.0], dtype=dtype)
    out = np.full_like(z, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would be a RuntimeWarning
        result = sigmoid(z, out=out)
    assert result is out
    np.testing.assert_array_equal(z, np.array([-1000.0, -80.0, -60.0, -20.0, 0.0, 20.0, 1000.0], dtype=dtype))
    exact = 1 / (1 + np.exp(-np.float64(z[1:-1])))  # e^-z is e^80 at most here: finite
    np.testing.assert_allclose(out[1:-1], exact, rtol=1e-6 if dtype == np.float32 else 1e-14)
    assert 0 <= out[0] < 1e-30 and out[-1] == 1.0
    np.testing.assert_array_equal(sigmoid(z), out)


def test_the_fast_sigmoid_is_the_logistic_function_to_rounding():
    z = np.linspace(-30, 30, 601)
    out = np.empty_like(z)
    assert sigmoid_via_tanh(z, out=out) is out
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-z)), rtol=0, atol=1e-15)
    assert np.array_equal(z, np.linspace(-30, 30, 601))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_is_per_row_and_stable_whatever_the_other_rows_hold(dtype):
    z = np.array([[1.0, 2.0, 3.0],
                  [-1000.0, -1001.0, -1002.0],  # would underflow to 0/0 if shifted by another row's max
                  [800.0, 0.0, -800.0],
                  [5.0, 5.0, 5.0]], dtype=dtype)
    out = np.full_like(z, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = softmax(z, out=out)
    assert result is out
    shifted = z.astype(np.float64) - z.astype(np.float64).max(axis=1, keepdims=True)
    exact = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, exact, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-30)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(softmax(z), out)
