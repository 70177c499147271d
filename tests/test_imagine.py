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


def test_digit_limit_follows_the_output_layer():
    net = Net([784, 4], seed=0)
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
