"""What a network imagines a digit looks like: backprojection, activation maximisation, heatmaps."""
import numpy as np
import pytest
from PIL import Image

from core import Net
from core.imagine import digit_image, heatmap_image, imagine_all


@pytest.fixture(scope="module")
def trained(mnist):
    """[784, 100, 10] softmax/cross-entropy network, 2 epochs of Adam on 10,000 images (~94%)."""
    train = mnist[0]
    net = Net([784, 100, 10], output="softmax", cost="cross_entropy", init="xavier", seed=0)
    assert net.fit((train.X[:10000], train.y[:10000]), epochs=2, eta=0.003, optimizer="adam").status == "completed"
    return net


@pytest.mark.parametrize("sizes", [[784, 10], [784, 16, 10], [784, 16, 12, 10]])
def test_backproject_gives_signed_28x28_maps_for_any_depth(sizes):
    net = Net(sizes, seed=1)
    maps = [net.imagine(digit) for digit in range(10)]
    for values in maps:
        assert values.shape == (28, 28) and np.issubdtype(values.dtype, np.floating)
        assert values.min() >= -1.0 and values.max() <= 1.0
        assert np.abs(values).max() == pytest.approx(1.0)
        assert values.min() < 0 < values.max()
    assert not np.allclose(maps[0], maps[1])
    np.testing.assert_allclose(imagine_all(net, range(10)), np.stack(maps), rtol=1e-6)


def test_backproject_of_a_single_layer_is_the_target_signal_through_the_weights():
    net = Net([784, 10], seed=2, dtype=np.float64)
    signal = np.full(10, -1 / 9)
    signal[7] = 1.0
    expected = signal @ net.weights[0]
    expected /= np.abs(expected).max()
    np.testing.assert_allclose(net.imagine(7), expected.reshape(28, 28), rtol=1e-5, atol=1e-6)


def test_backproject_through_two_layers_chains_the_weights():
    net = Net([784, 20, 10], seed=3, dtype=np.float64)
    signal = np.full(10, -1 / 9)
    signal[2] = 1.0
    expected = signal @ net.weights[1] @ net.weights[0]
    np.testing.assert_allclose(net.imagine(2), (expected / np.abs(expected).max()).reshape(28, 28),
                               rtol=1e-5, atol=1e-6)


def test_optimize_makes_images_the_network_is_sure_about(trained):
    images = imagine_all(trained, list(range(10)), "optimize")
    assert images.shape == (10, 28, 28)
    assert images.min() >= 0.0 and images.max() <= 1.0
    probabilities = trained.predict_proba(images.reshape(10, -1))
    np.testing.assert_array_equal(probabilities.argmax(axis=1), np.arange(10))
    assert probabilities[np.arange(10), np.arange(10)].min() > 0.9
    # ten different pictures
    flat = images.reshape(10, -1)
    differences = np.abs(flat[:, None, :] - flat[None, :, :]).mean(axis=2)
    assert differences[~np.eye(10, dtype=bool)].min() > 0.005


def test_optimize_single_digit_and_determinism(trained):
    first = trained.imagine(4, method="optimize", steps=50)
    again = trained.imagine(4, method="optimize", steps=50)
    assert first.shape == (28, 28) and first.min() >= 0 and first.max() <= 1
    np.testing.assert_array_equal(first, again)
    other_seed = trained.imagine(4, method="optimize", steps=50, seed=1)
    assert not np.array_equal(first, other_seed)


def test_optimize_works_for_sigmoid_networks_too(trained):
    net = Net([784, 10], seed=0)
    images = imagine_all(net, [3, 8], "optimize", steps=100)
    assert list(net.predict(images.reshape(2, -1))) == [3, 8]
    # an untrained network has no shift-robust features: the jittered images are refined until it is sure
    probabilities = net.predict_proba(images.reshape(2, -1))
    assert probabilities[0, 3] >= 0.9 and probabilities[1, 8] >= 0.9


@pytest.mark.parametrize("digit", [10, -1, 2.5, "3", True, None, [1, 2]])
def test_bad_digits_are_refused(digit):
    net = Net([784, 10], seed=0)
    with pytest.raises(ValueError, match="a digit must be a whole number from 0 to 9"):
        net.imagine(digit)


def test_bad_method_is_refused():
    with pytest.raises(ValueError, match="unknown imagine method 'dream'; choose one of: backproject, optimize"):
        Net([784, 10], seed=0).imagine(3, method="dream")


def test_networks_without_784_inputs_are_refused():
    with pytest.raises(ValueError, match="imagining needs a network with 784 inputs, this one has 20"):
        Net([20, 10]).imagine(1)


@pytest.mark.parametrize("sizes", [[784, 4], [784, 12, 4], [784, 3, 4]])
def test_digit_limit_follows_the_output_layer(sizes):
    net = Net(sizes, seed=0)
    assert net.imagine(3).shape == (28, 28)
    with pytest.raises(ValueError, match="from 0 to 3"):
        net.imagine(4)


# ----- rendering -----------------------------------------------------------------------------------------
def _cell(image, row, col, scale):
    return np.asarray(image)[row * scale + scale // 2, col * scale + scale // 2].astype(int)


def test_heatmap_colours_white_zero_blue_negative_red_positive():
    values = np.zeros((28, 28))
    values[3, 4] = -2.0
    values[10, 11] = 2.0
    values[20, 20] = 0.5
    image = heatmap_image(values)
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (224, 224)
    white, blue, red, pale_red = (_cell(image, *where, 8) for where in ((0, 0), (3, 4), (10, 11), (20, 20)))
    assert white.min() >= 240 and len(set(white)) == 1
    assert blue[2] > blue[0] + 50 and blue[2] > blue[1]
    assert red[0] > red[2] + 50 and red[0] > red[1]
    assert pale_red[0] > pale_red[2] and pale_red.min() > red.min()  # weaker values are paler
    # each value fills a scale x scale block
    block = np.asarray(image)[3 * 8:4 * 8, 4 * 8:5 * 8]
    assert (block == blue).all()


def test_heatmap_is_symmetric_about_zero_by_default():
    positive = heatmap_image(np.linspace(0, 1, 28 * 28).reshape(28, 28), scale=1)
    pixels = np.asarray(positive).astype(int)
    assert (pixels[..., 0] >= pixels[..., 2]).all()  # no blue when nothing is negative
    shifted = heatmap_image(np.linspace(0, 1, 28 * 28).reshape(28, 28), scale=1, symmetric=False)
    first = np.asarray(shifted)[0, 0].astype(int)
    assert first[2] > first[0]  # without symmetry the minimum is blue


def test_heatmap_size_follows_shape_and_scale():
    assert heatmap_image(np.ones((5, 7)), scale=3).size == (21, 15)
    flat = np.asarray(heatmap_image(np.zeros((28, 28)), scale=2))
    assert (flat == flat[0, 0]).all() and flat[0, 0].min() >= 240  # all zeros: all white


def test_heatmap_of_a_backprojection(small_trained_net):
    image = heatmap_image(small_trained_net.imagine(5), scale=4)
    assert image.size == (112, 112) and image.mode == "RGB"
    assert len(np.unique(np.asarray(image).reshape(-1, 3), axis=0)) > 50


def test_digit_image_is_white_ink_on_black():
    values = np.zeros((28, 28))
    values[5:20, 13:15] = 1.0
    image = digit_image(values, scale=2)
    assert image.mode == "L" and image.size == (56, 56)
    pixels = np.asarray(image)
    assert pixels[0, 0] == 0 and pixels[20, 27] == 255


def test_heatmap_image_draws_ink_over_the_map():
    values = np.linspace(-1, 1, 28 * 28).reshape(28, 28)
    ink = np.zeros((28, 28))
    ink[10:18, 13:15] = 1.0
    plain = np.asarray(heatmap_image(values, scale=1), dtype=float)
    inked = np.asarray(heatmap_image(values, scale=1, ink=ink), dtype=float)
    assert np.array_equal(plain[ink == 0], inked[ink == 0])
    assert (inked[ink == 1].sum(axis=-1) < plain[ink == 1].sum(axis=-1)).all()


def test_blur_keeps_flat_images_and_smooths_a_spike():
    from core.imagine import blur

    flat = np.full((2, 784), 0.3)
    np.testing.assert_allclose(blur(flat), flat)
    spike = np.zeros((28, 28))
    spike[14, 14] = 1.0
    smoothed = blur(spike).reshape(28, 28)
    assert smoothed[14, 14] == pytest.approx(0.5) and smoothed[13, 14] == pytest.approx(0.125)
    assert smoothed.sum() == pytest.approx(1.0)


def test_imagine_backprojects_unless_told_otherwise():
    from core.imagine import imagine

    net = Net([784, 16, 10], seed=4)
    np.testing.assert_array_equal(imagine(net, 6), imagine(net, 6, "backproject"))


def test_backprojection_is_normalised_however_small_the_weights():
    net = Net([784, 16, 10], seed=5, dtype=np.float64)
    normal = net.imagine(1)
    for weights in net.weights:
        weights *= 1e-3
    tiny = net.imagine(1)
    assert np.abs(tiny).max() == pytest.approx(1.0)
    np.testing.assert_allclose(tiny, normal, rtol=1e-5, atol=1e-6)


# ----- the optimiser, step by step, against a stand-in network ---------------------------------------------
CENTRE = 14 * 28 + 14


def _pixel(index=CENTRE):
    image = np.zeros(784)
    image[index] = 1.0
    return image


class _StandIn:
    """Just what ``imagine_all`` uses of a network: ``sizes``, an input gradient (here ``pull(views)``, a
    function of the images it is shown) and the probabilities the network gives its digits (``probability``
    in every column), so each rule of the ascent can be checked by hand."""

    sizes = [784, 10]

    def __init__(self, pull, probability=1.0):
        self.pull, self.probability = pull, probability

    def input_gradient(self, X, targets):
        assert X.shape == (len(targets), 784)
        return self.pull(X)

    def predict_proba(self, X):
        return np.full((len(X), 10), self.probability)


def _plain(**options):
    """Options with the regularisers off: no jitter, no blur, no penalties."""
    return {"jitter": 0, "blur_every": 0, "l1": 0.0, "l2": 0.0, **options}


def test_optimize_steps_each_image_by_step_size_however_small_its_gradient():
    # normalised gradient ascent: the largest gradient of *each* image moves it by step_size
    pulls = np.stack([1e-6 * _pixel(100), 5.0 * _pixel(600)])
    net = _StandIn(lambda views: pulls[:len(views)].copy())
    images = imagine_all(net, [2, 7], "optimize", **_plain(steps=1, step_size=0.05)).reshape(2, -1)
    np.testing.assert_allclose(images, 0.05 * np.stack([_pixel(100), _pixel(600)]), atol=1e-7)


def test_optimize_keeps_pixels_between_0_and_1():
    up = imagine_all(_StandIn(lambda views: np.ones_like(views)), [3], "optimize", steps=40)
    assert up.min() == 1.0 and up.max() == 1.0
    down = imagine_all(_StandIn(lambda views: -np.ones_like(views)), [3], "optimize", steps=40)
    assert down.min() == 0.0 and down.max() == 0.0


@pytest.mark.parametrize("l2, l1, balance", [(1.0, 0.2, 0.4), (0.5, 0.0, 1.0), (2.0, 0.5, 0.125)])
def test_optimize_penalties_balance_the_pull_where_their_gradients_cancel(l2, l1, balance):
    # maximising pull·x - l2·‖x‖² - l1·Σx: the gradient 1 - 2·l2·x - l1 vanishes at x = (1 - l1) / (2·l2)
    net = _StandIn(lambda views: np.ones_like(views))
    image = imagine_all(net, [5], "optimize", **_plain(steps=2000, step_size=0.001, l2=l2, l1=l1))
    np.testing.assert_allclose(image, balance, atol=0.002)


@pytest.mark.parametrize("steps, blur_every", [(1, 1), (1, 2), (3, 2), (5, 2), (7, 3)])
def test_optimize_blurs_the_image_every_blur_every_steps(steps, blur_every):
    from core.imagine import blur

    net = _StandIn(lambda views: np.tile(_pixel(), (len(views), 1)))
    image = imagine_all(net, [0], "optimize", **_plain(steps=steps, step_size=0.05, blur_every=blur_every))
    expected = np.zeros(784)
    for step in range(steps):
        expected = np.clip(expected + 0.05 * _pixel(), 0, 1)
        if step % blur_every == 0:  # after the first step, then every blur_every steps
            expected = blur(expected)
    np.testing.assert_allclose(image.reshape(-1), expected, atol=1e-7)


@pytest.mark.parametrize("probability, options, refined", [
    (0.95, {}, False),
    (0.9, {}, False),  # exactly the default confidence of 0.9 is sure enough
    (0.89, {}, True),
    (0.5, {"confidence": 0.5}, False),
    (0.5, {"confidence": 0.6}, True),
])
def test_optimize_refines_only_images_the_network_is_unsure_of(probability, options, refined):
    # with no jitter, blur or penalty every step adds step_size at the pulled pixel; an image the network gives
    # less than `confidence` gets as many steps again, at half the step size (and never jittered or blurred)
    net = _StandIn(lambda views: np.tile(_pixel(), (len(views), 1)), probability)
    for seed in (0, 1):
        image = imagine_all(net, [4], "optimize", **_plain(steps=4, step_size=0.05, seed=seed, **options))
        np.testing.assert_allclose(image.reshape(-1), (0.3 if refined else 0.2) * _pixel(), atol=1e-7)


def test_optimize_jitter_shifts_what_the_network_sees_and_shifts_its_gradient_back():
    # a network that asks for more of whatever pixel it sees lit: as each step's gradient is shifted back to the
    # image, every step after the first lights the same pixel of the image, wherever the view was shifted to
    def more_of_the_same(views):
        lit = views.argmax(axis=1)
        return np.where(views.max(axis=1, keepdims=True) > 0, np.eye(784)[lit], _pixel())

    net = _StandIn(more_of_the_same)
    offsets = set()
    for seed in range(20):
        image = imagine_all(net, [1], "optimize", **_plain(steps=6, step_size=0.05, jitter=2, seed=seed))[0]
        (row, col), = np.argwhere(image > 0)
        assert image[row, col] == pytest.approx(0.3)
        offsets.add((row - 14, col - 14))
    # the first step lands up to `jitter` pixels away from the centre, in every direction
    assert {abs(dy) for dy, _ in offsets} == {0, 1, 2} and {abs(dx) for _, dx in offsets} == {0, 1, 2}
    assert {np.sign(dy) for dy, _ in offsets} == {-1, 0, 1} == {np.sign(dx) for _, dx in offsets}


def test_shift_rolls_each_flattened_image_down_and_right():
    from core.imagine import _shift

    images = np.random.default_rng(0).random((3, 784))
    shifted = _shift(images, 2, -1)
    assert shifted.shape == (3, 784)
    np.testing.assert_array_equal(shifted.reshape(3, 28, 28),
                                  [np.roll(np.roll(image.reshape(28, 28), 2, axis=0), -1, axis=1) for image in images])


# ----- rendering, exactly ----------------------------------------------------------------------------------
BLUE, PALE_BLUE, WHITE, PALE_RED, RED = (5, 48, 97), (67, 147, 195), (247, 247, 247), (214, 96, 77), (103, 0, 31)


@pytest.mark.parametrize("size", [1e-6, 0.3, 1.0, 250.0])
def test_heatmap_colour_stops_symmetric_about_zero(size):
    values = size * np.array([[-1.0, -0.5, 0.0, 0.5, 1.0, 0.25]])
    pixels = np.asarray(heatmap_image(values, scale=1))[0]
    assert [tuple(colour) for colour in pixels[:5]] == [BLUE, PALE_BLUE, WHITE, PALE_RED, RED]
    # halfway between white and pale red
    np.testing.assert_array_equal(pixels[5], np.round((np.array(WHITE) + PALE_RED) / 2))


@pytest.mark.parametrize("low, high", [(2.0, 2.5), (-7.0, -3.0), (-0.001, 0.003), (10.0, 90.0)])
def test_heatmap_without_symmetry_spans_minimum_to_maximum(low, high):
    values = np.linspace(low, high, 5).reshape(1, 5)
    pixels = np.asarray(heatmap_image(values, scale=1, symmetric=False))[0]
    assert [tuple(colour) for colour in pixels] == [BLUE, PALE_BLUE, WHITE, PALE_RED, RED]


def test_heatmap_reads_integer_arrays_as_numbers():
    values = np.array([[-128, -60, 0, 60, 127]], dtype=np.int8)
    for symmetric in (True, False):
        np.testing.assert_array_equal(np.asarray(heatmap_image(values, symmetric=symmetric)),
                                      np.asarray(heatmap_image(values.astype(float), symmetric=symmetric)))


def test_heatmap_ink_moves_colours_60_percent_towards_dark_grey():
    values = np.array([[-1.0, 0.0, 1.0]])
    for ink, share in [(1.0, 0.6), (0.5, 0.3), (2.0, 0.6), (-1.0, 0.0), (0.0, 0.0)]:
        pixels = np.asarray(heatmap_image(values, scale=1, ink=np.full((1, 3), ink)))[0]
        expected = np.array([BLUE, WHITE, RED]) * (1 - share) + 40 * share
        np.testing.assert_array_equal(pixels, expected.round(), err_msg=f"ink {ink}")
    # ink of any numeric type
    ink = np.linspace(0, 1, 3 * 100).reshape(3, 100)
    values = np.linspace(-1, 1, 3 * 100).reshape(3, 100)
    np.testing.assert_array_equal(np.asarray(heatmap_image(values, scale=1, ink=ink.astype(np.float16))),
                                  np.asarray(heatmap_image(values, scale=1, ink=ink.astype(np.float16).astype(float))))


def test_digit_image_defaults_to_8x_and_enlarges_with_sharp_blocks():
    values = np.zeros((28, 28))
    values[3, 5] = 1.0
    values[20, 9] = 0.5
    image = digit_image(values)
    assert image.size == (224, 224)
    pixels = np.asarray(image)
    expected = np.zeros((224, 224), np.uint8)
    expected[24:32, 40:48] = 255
    expected[160:168, 72:80] = 128
    np.testing.assert_array_equal(pixels, expected)
    assert digit_image(np.zeros((5, 7)), scale=3).size == (21, 15)  # any shape, like heatmap_image


def test_digit_image_clips_to_black_and_white():
    values = np.array([[-0.5, -3.0, 0.0, 0.25, 1.0, 1.5, 2.0, 7.0]])
    np.testing.assert_array_equal(np.asarray(digit_image(values, scale=1))[0], [0, 0, 0, 64, 255, 255, 255, 255])


def test_digit_image_reads_every_float_type_as_the_same_numbers():
    values = np.linspace(0, 1, 784).astype(np.float16).reshape(28, 28)
    np.testing.assert_array_equal(np.asarray(digit_image(values, scale=1)),
                                  np.asarray(digit_image(values.astype(np.float64), scale=1)))
