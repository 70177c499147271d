"""The command line, ``python -m core train|test|imagine|predict``: real runs in a subprocess,
plus in-process runs of ``core.cli.main`` for the many ways to get the arguments wrong."""
import io
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core import Net, cli
from core.preprocess import load_image, to_mnist

TIMEOUT = 180  # seconds; generous for a busy shared machine


def run(root, *args):
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=root, capture_output=True,
                          text=True, timeout=TIMEOUT)


def assert_clean_error(result, code, pattern):
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]


@pytest.fixture(scope="module")
def drawings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drawings")
    one = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(one).line([(140, 40), (140, 240)], fill="black", width=22)
    one.save(folder / "one.png")
    Image.new("RGB", (280, 280), "white").save(folder / "blank.png")
    (folder / "not-an-image.png").write_bytes(b"this is not a PNG file")
    return folder


# ----- real runs -------------------------------------------------------------------------------------------------
def test_train_prints_epochs_tests_and_saves(project_root, tmp_path):
    out = tmp_path / "models" / "tiny.npz"
    result = run(project_root, "train", "--sizes", "784,20,10", "--train-size", 2000, "--epochs", 2,
                 "--init", "xavier", "--seed", 3, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 2
    pattern = r"epoch (\d)/2: train acc (\d+\.\d\d)%, validation acc (\d+\.\d\d)%, (\d+\.\d\d) s"
    values = [re.fullmatch(pattern, line).groups() for line in epochs]
    assert [v[0] for v in values] == ["1", "2"]
    assert "2,000 images" in lines[0] and "[784, 20, 10]" in lines[0]
    test_line = next(line for line in lines if line.startswith("test accuracy: "))
    saved = Net.load(out)
    assert f"saved to {out}" in result.stdout
    assert saved.sizes == [784, 20, 10] and len(saved.history) == 2
    assert saved.history[1]["validation_accuracy"] * 100 == pytest.approx(float(values[1][2]), abs=0.006)
    assert saved.history[0]["train_accuracy"] * 100 == pytest.approx(float(values[0][1]), abs=0.006)
    assert saved.test_accuracy is not None and saved.test_accuracy > 0.6
    assert test_line == f"test accuracy: {100 * saved.test_accuracy:.2f}%"
    assert "." in result.stderr  # progress dots within each epoch (stderr is not a terminal here)


def test_test_prints_the_accuracy_of_a_model(project_root, small_model_path, mnist):
    result = run(project_root, "test", small_model_path)
    assert result.returncode == 0, result.stderr
    accuracy = Net.load(small_model_path).evaluate(*mnist[2])["accuracy"]
    assert result.stdout.strip() == f"{int(round(accuracy * 10000))} / 10000 correct ({100 * accuracy:.2f}%)"


@pytest.mark.parametrize("method, scale", [("backproject", None), ("optimize", 4)])
def test_imagine_writes_a_heatmap_png(project_root, small_model_path, tmp_path, method, scale):
    out = tmp_path / "pictures" / "seven.png"
    extra = ["--scale", scale] if scale else []
    result = run(project_root, "imagine", 7, "--out", out, "--model", small_model_path, "--method", method, *extra)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    with Image.open(out) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        assert image.size == (28 * (scale or 8),) * 2
        pixels = np.asarray(image)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10  # a picture, not a flat colour


def test_predict_a_drawn_one_and_a_blank_page(project_root, small_model_path, drawings):
    result = run(project_root, "predict", drawings / "one.png", "--model", small_model_path)
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(r"predicted digit: (\d) \(confidence (\d+\.\d)%\)", result.stdout.strip())
    assert match, result.stdout
    net = Net.load(small_model_path)
    probabilities = net.predict_proba(to_mnist(load_image(drawings / "one.png")).reshape(1, -1))[0]
    assert int(match.group(1)) == probabilities.argmax() == 1
    assert float(match.group(2)) == pytest.approx(100 * probabilities.max(), abs=0.051)

    blank = run(project_root, "predict", drawings / "blank.png", "--model", small_model_path)
    assert blank.returncode == 0, blank.stderr
    assert blank.stdout.strip() == "nothing drawn"


@pytest.mark.parametrize("args, code, pattern", [
    (["train", "--bogus"], 2, r"unrecognized arguments: --bogus"),
    (["train", "--sizes", "784,-3,10"], 2, r"argument --sizes: layer 1 size must be at least 1, got -3"),
    (["train", "--sizes", "784,abc"], 2, r"argument --sizes: layer sizes must be whole numbers .* got 'abc'"),
    (["train", "--eta", "0"], 2, r"argument --eta: must be greater than 0, got 0"),
    (["fly"], 2, r"invalid choice: 'fly'"),
    (["test", "MISSING"], 1, r"no model file at .*missing\.npz"),
    (["test", "CORRUPT"], 1, r"not a model file \(not a valid \.npz archive"),
])
def test_bad_arguments_give_one_error_line(project_root, tmp_path, args, code, pattern):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a zip")
    args = [{"MISSING": tmp_path / "missing.npz", "CORRUPT": corrupt}.get(a, a) for a in args]
    assert_clean_error(run(project_root, *args), code, pattern)


# ----- in-process runs -----------------------------------------------------------------------------------------------
def main(capsys, *args):
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_defaults_point_into_data_models(project_root):
    parser = cli.build_parser()
    train = parser.parse_args(["train"])
    assert train.out == project_root / "data" / "models" / "network.npz"
    assert (train.sizes, train.hidden, train.output, train.cost, train.init) == (
        [784, 30, 10], "sigmoid", "sigmoid", "quadratic", "normal")
    assert (train.eta, train.batch_size, train.optimizer, train.schedule, train.augment) == (
        3.0, 10, "sgd", "constant", False)
    assert parser.parse_args(["test"]).model == project_root / "data" / "models" / "default.npz"
    assert parser.parse_args(["predict", "x.png"]).model == project_root / "data" / "models" / "default.npz"
    imagine = parser.parse_args(["imagine", "3", "--out", "a.png"])
    assert (imagine.digit, imagine.method, imagine.model.name) == (3, "backproject", "default.npz")


def test_train_in_process_with_every_option(capsys, tmp_path):
    out = tmp_path / "net.npz"
    code, stdout, stderr = main(capsys, "train", "--sizes", "784,16,12,10", "--hidden", "relu", "--output", "softmax",
                                "--cost", "cross_entropy", "--init", "he", "--eta", "0.003", "--batch-size", 20,
                                "--epochs", 3, "--optimizer", "adam", "--weight-decay", "0.1",
                                "--schedule", "cosine", "--augment", "--train-size", 1000, "--seed", 5, "--out", out)
    assert code == 0, stderr
    net = Net.load(out)
    assert net.sizes == [784, 16, 12, 10]
    assert (net.hidden, net.output, net.cost, net.init, net.seed) == ("relu", "softmax", "cross_entropy", "he", 5)
    assert [round(e["eta"], 6) for e in net.history] == [0.003, round(0.003 * (0.01 + 0.99 * 0.5), 6), 0.00003]
    assert len(re.findall(r"^epoch \d/3: ", stdout, re.M)) == 3


def test_same_seed_trains_the_same_network(capsys, tmp_path):
    for name in ("a", "b"):
        assert main(capsys, "train", "--sizes", "784,8,10", "--train-size", 300, "--epochs", 1, "--seed", 9,
                    "--out", tmp_path / f"{name}.npz")[0] == 0
    a, b = Net.load(tmp_path / "a.npz"), Net.load(tmp_path / "b.npz")
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(x, y)


def test_step_schedule_options(capsys, tmp_path):
    out = tmp_path / "net.npz"
    code, _, stderr = main(capsys, "train", "--sizes", "784,8,10", "--train-size", 200, "--epochs", 3, "--eta", 1,
                           "--schedule", "step", "--step-size", 1, "--gamma", 0.1, "--out", out)
    assert code == 0, stderr
    assert [e["eta"] for e in Net.load(out).history] == pytest.approx([1, 0.1, 0.01])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_is_reported_and_nothing_is_saved(capsys, tmp_path):
    out = tmp_path / "net.npz"
    code, stdout, stderr = main(capsys, "train", "--sizes", "784,30,10", "--hidden", "relu", "--output", "softmax",
                                "--cost", "cross_entropy", "--init", "he", "--eta", "1e30", "--train-size", 500,
                                "--epochs", 2, "--out", out)
    assert code == 1
    assert re.fullmatch(r"error: training diverged \(the cost became NaN or infinite\) .*Try a smaller learning rate\. "
                        r"The network was not saved\.\n", stderr)
    assert not out.exists()


@pytest.mark.parametrize("args, pattern", [
    (["train", "--sizes", "784,0,10"], r"argument --sizes: layer 1 size must be at least 1, got 0"),
    (["train", "--sizes", "784,3.5,10"], r"argument --sizes: layer sizes must be whole numbers .* got '3.5'"),
    (["train", "--sizes", "784"], r"argument --sizes: a network needs at least an input and an output layer"),
    (["train", "--sizes", ""], r"argument --sizes: layer sizes must be whole numbers"),
    (["train", "--sizes", "784,99999,10"], r"argument --sizes: layer 1 has 99999 neurons, more than the limit"),
    (["train", "--sizes", "784,4000,4000,10"], r"argument --sizes: this network has .* parameters, more than the limit"),
    (["train", "--sizes", "100,10"], r"argument --sizes: the first layer must have 784 inputs"),
    (["train", "--sizes", "784,30,9"], r"argument --sizes: the last layer must have 10 outputs"),
    (["train", "--eta", "-1"], r"argument --eta: must be greater than 0, got -1"),
    (["train", "--eta", "nan"], r"argument --eta: expected a finite number, got 'nan'"),
    (["train", "--eta", "inf"], r"argument --eta: expected a finite number, got 'inf'"),
    (["train", "--eta", "fast"], r"argument --eta: expected a number, got 'fast'"),
    (["train", "--batch-size", "0"], r"argument --batch-size: must be at least 1, got 0"),
    (["train", "--batch-size", "2.5"], r"argument --batch-size: expected a whole number, got '2.5'"),
    (["train", "--train-size", "100", "--batch-size", "101"], r"argument --batch-size: 101 is larger than the training set"),
    (["train", "--epochs", "0"], r"argument --epochs: must be between 1 and \d+, got 0"),
    (["train", "--epochs", "100000"], r"argument --epochs: must be between 1 and \d+, got 100000"),
    (["train", "--train-size", "0"], r"argument --train-size: must be between 1 and \d+, got 0"),
    (["train", "--train-size", "60000"], r"argument --train-size: must be between 1 and \d+, got 60000"),
    (["train", "--weight-decay", "-0.5"], r"argument --weight-decay: must be at least 0, got -0.5"),
    (["train", "--momentum", "1"], r"argument --momentum: must be in \[0, 1\), got 1"),
    (["train", "--gamma", "0"], r"argument --gamma: must be greater than 0"),
    (["train", "--step-size", "0"], r"argument --step-size: must be at least 1, got 0"),
    (["train", "--seed", "-1"], r"argument --seed: must be at least 0, got -1"),
    (["train", "--hidden", "swish"], r"argument --hidden: invalid choice: 'swish'"),
    (["train", "--output", "tanh"], r"argument --output: invalid choice: 'tanh'"),
    (["train", "--cost", "hinge"], r"argument --cost: invalid choice: 'hinge'"),
    (["train", "--init", "zeros"], r"argument --init: invalid choice: 'zeros'"),
    (["train", "--optimizer", "rmsprop"], r"argument --optimizer: invalid choice: 'rmsprop'"),
    (["train", "--schedule", "linear"], r"argument --schedule: invalid choice: 'linear'"),
    (["train", "--eta"], r"argument --eta: expected one argument"),
    (["imagine", "10", "--out", "x.png"], r"argument DIGIT: must be between 0 and 9, got 10"),
    (["imagine", "-1", "--out", "x.png"], r"argument DIGIT: must be between 0 and 9, got -1"),
    (["imagine", "2.5", "--out", "x.png"], r"argument DIGIT: expected a whole number, got '2.5'"),
    (["imagine", "3"], r"the following arguments are required: --out"),
    (["imagine", "3", "--out", "x.png", "--method", "dream"], r"argument --method: invalid choice: 'dream'"),
    (["predict"], r"the following arguments are required: IMAGE"),
    (["test", "a.npz", "b.npz"], r"unrecognized arguments: b.npz"),
    ([], r"the following arguments are required: COMMAND"),
])
def test_usage_errors_exit_2_with_one_line(capsys, args, pattern):
    code, stdout, stderr = main(capsys, *args)
    assert code == 2
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert "--help" in lines[0]


def test_runtime_errors_exit_1_with_one_line(capsys, tmp_path, small_model_path, drawings, modelfiles):
    not_a_model = tmp_path / "text.npz"
    not_a_model.write_text("hello")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(small_model_path.read_bytes()[:5000])
    wide = tmp_path / "wide.npz"
    Net([20, 10]).save(wide)
    blocked = tmp_path / "file"
    blocked.write_text("a file where a folder should be")
    cases = [
        (["test", tmp_path / "none.npz"], r"no model file at .*none\.npz"),
        (["test", tmp_path], r"is a folder, not a model file"),
        (["test", not_a_model], r"not a model file"),
        (["test", truncated], r"not a model file|cannot be read|truncated"),
        (["test", wide], r"takes 20 inputs, not 784"),
        (["imagine", 3, "--out", tmp_path / "x.png", "--model", tmp_path / "none.npz"], r"no model file at"),
        (["imagine", 3, "--out", blocked / "x.png", "--model", small_model_path], r"cannot write .*x\.png"),
        (["predict", tmp_path / "none.png", "--model", small_model_path], r"no image file at .*none\.png"),
        (["predict", drawings / "not-an-image.png", "--model", small_model_path], r"not an image"),
        (["predict", drawings / "one.png", "--model", not_a_model], r"not a model file"),
    ]
    for args, pattern in cases:
        code, stdout, stderr = main(capsys, *args)
        assert code == 1, (args, stderr)
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, stderr)
        assert re.search(pattern, lines[0]), (args, lines[0])


def test_imagine_digit_beyond_the_model_outputs(capsys, tmp_path):
    model = tmp_path / "four.npz"
    Net([784, 4]).save(model)
    code, _, stderr = main(capsys, "imagine", 7, "--out", tmp_path / "x.png", "--model", model)
    assert code == 2 and "the model only has 4 outputs, got 7" in stderr


def test_help_exits_0(capsys):
    code, stdout, _ = main(capsys, "train", "--help")
    assert code == 0 and "--sizes" in stdout and "--train-size" in stdout


def test_progress_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out, err = io.StringIO(), Terminal()
    printer = cli._ProgressPrinter(3, out=out, err=err)
    history = [{"epoch": 1, "train_accuracy": 0.5, "train_cost": 1.0, "validation_accuracy": None,
                "validation_cost": None, "seconds": 1.234, "eta": 1.0}]
    from core import Progress

    printer(Progress(1, 1, 3, 50, 100, 0.4, 1.2, 1.0, 0.5, False, history))
    printer(Progress(1, 1, 3, 100, 100, 0.5, 1.0, 1.0, 1.2, True, history))
    assert "\r" in err.getvalue() and " 50%" in err.getvalue() and "#" * 15 in err.getvalue()
    assert err.getvalue().endswith("\r")  # the bar is cleared before the epoch line
    assert out.getvalue() == "epoch 1/3: train acc 50.00%, validation acc n/a, 1.23 s\n"
