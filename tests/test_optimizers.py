"""The optimisers called directly, against the update rules written out plainly over several
steps: weights decayed and biases not, the precomputed-step path the engine uses (``apply``)
equal to ``step``, and which matrices the engine may update inside its matrix product."""
import math

import numpy as np
import pytest

from core.optimizers import DIRECT_MIN_SIZE, OPTIMIZERS, SCHEDULES, Adam, Momentum, SGD, learning_rate, \
    make_optimizer

SHAPES = [(4, 3), (2, 4)]  # two weight matrices; biases (4,) and (2,)


def parameters(seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=shape) for shape in SHAPES]
    biases = [rng.normal(size=shape[0]) for shape in SHAPES]
    return weights, biases


def gradients(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=shape) for shape in SHAPES] + [rng.normal(size=shape[0]) for shape in SHAPES]
            for _ in range(steps)]


def reference(name, grads_per_step, etas, l2, momentum=0.9, beta1=0.9, beta2=0.999, eps=1e-8):
    """The textbook updates: weight decay λw added to the weights' gradients only."""
    weights, biases = parameters()
    params = weights + biases
    state = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    for t, (grads, eta) in enumerate(zip(grads_per_step, etas), start=1):
        for i, (p, g) in enumerate(zip(params, grads)):
            g = g + l2 * p if i < len(weights) else g
            if name == "sgd":
                p -= eta * g
            elif name == "momentum":
                state[i][0] = momentum * state[i][0] - eta * g
                p += state[i][0]
            else:
                m, v = state[i]
                m[:] = beta1 * m + (1 - beta1) * g
                v[:] = beta2 * v + (1 - beta2) * g * g
                m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                # ε added to √v before bias correction: the paper's "more efficient" ordering (§2)
                p -= eta * m_hat / (np.sqrt(v_hat) + eps / math.sqrt(1 - beta2 ** t))
    return params


@pytest.mark.parametrize("l2", [0.0, 0.3])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_follows_the_textbook_rule_over_several_steps(name, l2):
    grads, etas = gradients(4), [0.5, 0.25, 0.5, 0.1]
    weights, biases = parameters()
    optimizer = make_optimizer(name, weights, biases, l2=l2)
    for g, eta in zip(grads, etas):
        optimizer.step([x.copy() for x in g], eta)
    for got, expected in zip(weights + biases, reference(name, grads, etas, l2)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_leaves_the_gradients_alone(name):
    weights, biases = parameters()
    optimizer = make_optimizer(name, weights, biases, l2=0.3)
    grads = gradients(1)[0]
    before = [g.copy() for g in grads]
    optimizer.step(grads, 0.5)
    assert all(np.array_equal(g, b) for g, b in zip(grads, before))


def test_momentum_uses_the_momentum_it_is_given():
    grads, etas = gradients(3), [0.5, 0.5, 0.5]
    weights, biases = parameters()
    optimizer = make_optimizer("momentum", weights, biases, l2=0.1, momentum=0.5)
    for g, eta in zip(grads, etas):
        optimizer.step(g, eta)
    for got, expected in zip(weights + biases, reference("momentum", grads, etas, 0.1, momentum=0.5)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("l2", [0.0, 0.3])
@pytest.mark.parametrize("cls", [SGD, Momentum])
def test_apply_with_precomputed_steps_equals_step(cls, l2):
    """``apply`` takes -η·g, as the engine computes it, and must update exactly as ``step(g)``."""
    grads, etas = gradients(3), [0.5, 0.2, 0.4]
    by_step, by_apply = parameters(), parameters()
    stepper, applier = cls(*by_step, l2), cls(*by_apply, l2)
    for g, eta in zip(grads, etas):
        stepper.step(g, eta)
        applier.apply([-eta * x for x in g], eta)
    for a, b in zip(by_step[0] + by_step[1], by_apply[0] + by_apply[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_sgd_apply_skips_only_the_matrices_the_engine_already_updated(l2):
    weights, biases = parameters()
    eta, grads = 0.5, gradients(1)[0]
    expected = reference("sgd", [grads], [eta], l2)
    optimizer = SGD(weights, biases, l2)
    # the engine has done weight 0's whole update: (1 - η λ) w - η g, in place
    weights[0] *= 1 - eta * l2
    weights[0] -= eta * grads[0]
    optimizer.apply([-eta * g for g in grads], eta, done=[True, False])
    for got, want in zip(weights + biases, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_momentum_apply_skips_the_velocity_update_the_engine_already_made(l2):
    weights, biases = parameters()
    eta, grads = 0.5, gradients(2)
    expected = reference("momentum", grads, [eta, eta], l2)
    optimizer = Momentum(weights, biases, l2)
    optimizer.step(grads[0], eta)
    # the engine has put momentum v - η g into weight 1's velocity; decay and w += v are left to apply
    velocity = optimizer.velocity[1]
    velocity *= optimizer.momentum
    velocity -= eta * grads[1][1]
    optimizer.apply([-eta * g for g in grads[1]], eta, done=[False, True])
    for got, want in zip(weights + biases, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_only_big_weight_matrices_are_offered_to_the_engine():
    rng = np.random.default_rng(0)
    small, big = rng.normal(size=(10, 30)), rng.normal(size=(100, DIRECT_MIN_SIZE // 100))
    just_below = rng.normal(size=(1, DIRECT_MIN_SIZE - 1))
    weights, biases = [small, big, just_below], [np.zeros(10), np.zeros(100), np.zeros(1)]

    sgd = SGD(weights, biases, l2=0.2)
    offered = sgd.direct(0.5)
    assert len(offered) == 3 and offered[0] is None and offered[2] is None
    target, beta = offered[1]
    assert target is big and beta == pytest.approx(1 - 0.5 * 0.2)

    momentum = Momentum(weights, biases, l2=0.2, momentum=0.7)
    offered = momentum.direct(0.5)
    assert len(offered) == 3 and offered[0] is None and offered[2] is None
    target, beta = offered[1]
    assert target is momentum.velocity[1] and beta == pytest.approx(0.7)


def test_the_step_optimisers_offer_precomputed_steps_and_adam_does_not():
    weights, biases = parameters()
    assert SGD(weights, biases, 0).takes_steps and Momentum(weights, biases, 0).takes_steps
    assert not Adam(weights, biases, 0).takes_steps


def test_make_optimizer_names_each_optimiser_and_refuses_others():
    weights, biases = parameters()
    kinds = {name: type(make_optimizer(name, weights, biases)) for name in OPTIMIZERS}
    assert kinds == {"sgd": SGD, "momentum": Momentum, "adam": Adam}
    assert make_optimizer("momentum", weights, biases, momentum=0.3).momentum == 0.3
    assert make_optimizer("sgd", weights, biases, l2=0.25).l2 == 0.25
    assert make_optimizer("sgd", weights, biases).l2 == 0.0  # no weight decay unless asked for
    with pytest.raises(ValueError, match="unknown optimiser 'rmsprop'; choose one of: sgd, momentum, adam"):
        make_optimizer("rmsprop", weights, biases)


def test_learning_rate_schedules():
    assert [learning_rate("constant", 2.0, e, 5) for e in range(5)] == [2.0] * 5
    assert [learning_rate("step", 1.0, e, 7, step_size=3, gamma=0.1) for e in range(7)] == pytest.approx(
        [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01])
    long_cosine = [learning_rate("cosine", 2.0, e, 11) for e in range(11)]
    assert long_cosine[0] == pytest.approx(2.0) and long_cosine[-1] == pytest.approx(0.02)
    assert long_cosine[5] == pytest.approx((2.0 + 0.02) / 2)
    assert all(a > b for a, b in zip(long_cosine, long_cosine[1:]))
    assert learning_rate("cosine", 2.0, 0, 1) == pytest.approx(2.0)
    assert [learning_rate("step", 1.0, e, 30) for e in (0, 9, 10, 19, 20, 29)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    cosine = [learning_rate("cosine", 3.0, e, 5) for e in range(5)]
    floor = 0.03
    expected = [floor + 0.5 * (3.0 - floor) * (1 + math.cos(math.pi * e / 4)) for e in range(5)]
    assert cosine == pytest.approx(expected, rel=1e-12)
    assert cosine[0] == pytest.approx(3.0) and cosine[-1] == pytest.approx(floor)
    assert learning_rate("cosine", 3.0, 0, 2) == pytest.approx(3.0)
    assert learning_rate("cosine", 3.0, 1, 2) == pytest.approx(floor)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'linear'; choose one of: "
                                         + ", ".join(SCHEDULES)):
        learning_rate("linear", 1.0, 0, 1)
