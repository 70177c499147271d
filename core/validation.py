"""Checks of user-given settings; each failure is a ValueError that says what to change."""
import math
import numbers

from . import limits
from .activations import COSTS, HIDDEN, OUTPUTS

INITS = ("normal", "scaled", "xavier", "he")
"""normal: N(0, 1) weights and biases (the original); scaled: N(0, 1/n_in) weights, N(0, 1) biases
(Nielsen's chapter 3); xavier: N(0, 2/(n_in + n_out)); he: N(0, 2/n_in) (both with zero biases)."""


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def parameter_count(sizes):
    """Number of weights and biases of a fully connected network with these layer sizes."""
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def check_sizes(sizes):
    """Return layer sizes as a list of ints, or raise ValueError naming the bad entry."""
    try:
        sizes = list(sizes)
    except TypeError:
        raise ValueError(f"layer sizes must be a list of integers, got {sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError("a network needs at least an input and an output layer, e.g. [784, 10]")
    if len(sizes) - 2 > limits.MAX_HIDDEN_LAYERS:
        raise ValueError(f"{len(sizes) - 2} hidden layers is more than the limit of {limits.MAX_HIDDEN_LAYERS}")
    checked = []
    for position, size in enumerate(sizes):
        if isinstance(size, float) and size.is_integer():
            size = int(size)
        if not _is_int(size):
            raise ValueError(f"layer {position} size must be a whole number, got {size!r}")
        if size < 1:
            raise ValueError(f"layer {position} size must be at least 1, got {size}")
        if size > limits.MAX_LAYER_SIZE:
            raise ValueError(f"layer {position} has {size} neurons, more than the limit of {limits.MAX_LAYER_SIZE}")
        checked.append(int(size))
    total = parameter_count(checked)
    if total > limits.MAX_PARAMETERS:
        raise ValueError(f"this network has {total:,} parameters, more than the limit of {limits.MAX_PARAMETERS:,}")
    return checked


def check_choice(what, value, allowed):
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; choose one of: {', '.join(allowed)}")
    return value


def check_architecture(hidden, output, cost, init):
    check_choice("hidden activation", hidden, tuple(HIDDEN))
    check_choice("output activation", output, OUTPUTS)
    check_choice("cost", cost, COSTS)
    check_choice("initialisation", init, INITS)


def check_positive(what, value, allow_zero=False):
    """A finite real number > 0 (or >= 0 with allow_zero)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{what} must be {'at least' if allow_zero else 'greater than'} 0, got {value}")
    return float(value)


def check_count(what, value, low, high):
    if not _is_int(value):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, got {value}")
    return int(value)
