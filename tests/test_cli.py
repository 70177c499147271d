"""The command line, ``python -m core train|test|imagine|predict``: real runs in a subprocess,
plus in-process runs of ``core.cli.main`` for the many ways to get the arguments wrong."""
import importlib.util
import io
import re
import subprocess
import sys
from pathlib import Path

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
        (["predict", drawings, "--model", small_model_path], r"drawings\w* is a folder, not an image"),
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
    out, err = io.StringIO(), Recorder(tty=True)
    printer = cli._ProgressPrinter(3, out=out, err=err)
    history = [{"epoch": 1, "train_accuracy": 0.5, "train_cost": 1.0, "validation_accuracy": None,
                "validation_cost": None, "seconds": 1.234, "eta": 1.0}]
    from core import Progress

    printer(Progress(1, 1, 3, 50, 100, 0.4, 1.2, 1.0, 0.5, False, history))
    printer(Progress(1, 1, 3, 100, 100, 0.5, 1.0, 1.0, 1.2, True, history))
    assert "\r" in err.getvalue() and " 50%" in err.getvalue() and "#" * 15 in err.getvalue()
    assert err.getvalue().endswith("\r")  # the bar is cleared before the epoch line
    assert out.getvalue() == "epoch 1/3: train acc 50.00%, validation acc n/a, 1.23 s\n"


# ----- more in-process runs: what each command prints and writes -------------------------------------------------
class Recorder(io.StringIO):
    """A stream that remembers what had been written at each flush (and may claim to be a terminal)."""

    def __init__(self, tty=False):
        super().__init__()
        self.flushed, self.tty = [], tty

    def flush(self):
        self.flushed.append(self.getvalue())
        super().flush()

    def isatty(self):
        return self.tty


class Pipe:
    """A bare writable stream without ``isatty`` (as some wrapped streams are)."""

    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def progress(batch, batches, done, history, accuracy=0.4):
    from core import Progress

    return Progress(1, 1, 3, batch, batches, accuracy, 1.0, 1.0, 0.5, done, history)


HISTORY = [{"epoch": 1, "train_accuracy": 0.5, "train_cost": 1.0, "validation_accuracy": 0.9123,
            "validation_cost": 0.2, "seconds": 2.5, "eta": 1.0}]


@pytest.mark.parametrize("train_size, batch_size", [(100, 10), (200, 10), (10, 10)])
def test_train_reports_flushes_and_saves_what_it_tested(monkeypatch, tmp_path, mnist, train_size, batch_size):
    """The header is flushed before training starts and each epoch line as it ends; stderr gets a dot per
    tenth of an epoch (the last tenth is the epoch line); the saved network carries its test accuracy."""
    out, err, path = Recorder(), Recorder(), tmp_path / "net.npz"
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = cli.main(["train", "--sizes", "784,4,10", "--train-size", str(train_size), "--batch-size", str(batch_size),
                     "--epochs", "1", "--seed", "2", "--out", str(path)])
    monkeypatch.undo()
    assert code == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    parameters = 784 * 4 + 4 + 4 * 10 + 10
    header = (f"training [784, 4, 10] (hidden sigmoid, output sigmoid, cost quadratic, init normal; {parameters:,} "
              f"parameters) on {train_size} images for 1 epochs: sgd, eta 3, batch size {batch_size}")
    assert lines[0] == header
    assert out.flushed[:2] == [header + "\n", f"{lines[0]}\n{lines[1]}\n"]
    saved = Net.load(path)
    entry = saved.history[0]
    assert lines[1] == (f"epoch 1/1: train acc {100 * entry['train_accuracy']:.2f}%, "
                        f"validation acc {100 * entry['validation_accuracy']:.2f}%, {entry['seconds']:.2f} s")
    assert saved.test_accuracy == pytest.approx(saved.evaluate(*mnist[2])["accuracy"])
    assert lines[2:] == [f"test accuracy: {100 * saved.test_accuracy:.2f}%", f"saved to {path}"]
    batches = train_size // batch_size
    assert err.getvalue() == ("." * 9 + "\n" if batches >= 10 else "")


def test_train_trains_what_the_library_trains(capsys, tmp_path, mnist):
    """Every training option reaches Net.fit: the saved weights are the library's for the same settings."""
    path = tmp_path / "net.npz"
    code, _, stderr = main(capsys, "train", "--sizes", "784,6,10", "--hidden", "tanh", "--init", "xavier",
                           "--optimizer", "momentum", "--momentum", "0.5", "--weight-decay", "2", "--eta", "0.5",
                           "--augment", "--train-size", 60, "--batch-size", 15, "--epochs", 2, "--seed", 4,
                           "--out", path)
    assert code == 0, stderr
    train, validation, _ = mnist
    expected = Net([784, 6, 10], hidden="tanh", init="xavier", seed=4)
    expected.fit((train.X[:60], train.y[:60]), 2, 0.5, 15, validation, optimizer="momentum", momentum=0.5,
                 weight_decay=2.0, augment=True)
    saved = Net.load(path)
    for got, want in zip(saved.weights + saved.biases, expected.weights + expected.biases):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("args, command, message", [
    (["train", "--sizes", "100,30,10"], "train",
     "argument --sizes: the first layer must have 784 inputs (28x28 pixels), got 100"),
    (["train", "--sizes", "784,30,9"], "train", "argument --sizes: the last layer must have 10 outputs (one per digit), got 9"),
    (["train", "--train-size", "100", "--batch-size", "101"], "train",
     "argument --batch-size: 101 is larger than the training set (100 images)"),
    (["train", "--batch-size", "50001"], "train", "argument --batch-size: 50001 is larger than the training set (TRAIN images)"),
    (["imagine", "3", "--out", "x.png", "--scale", "65"], "imagine", "argument --scale: must be between 1 and 64, got 65"),
    (["imagine", "3", "--out", "x.png", "--scale", "0"], "imagine", "argument --scale: must be between 1 and 64, got 0"),
])
def test_usage_errors_name_the_value_and_the_commands_help(capsys, mnist, args, command, message):
    message = message.replace("TRAIN", f"{len(mnist[0].y):,}")
    code, stdout, stderr = main(capsys, *args)
    assert (code, stdout) == (2, "")
    assert stderr == f"error: {message} (see 'python -m core {command} --help')\n"


def test_options_accept_the_ends_of_their_ranges():
    parser = cli.build_parser()
    train = parser.parse_args(["train", "--weight-decay", "0", "--momentum", "0"])
    assert (train.weight_decay, train.momentum) == (0, 0)
    assert parser.parse_args(["train", "--momentum", "0.5"]).momentum == 0.5
    for digit, scale in [(9, 64), (0, 1), (3, 4)]:
        imagine = parser.parse_args(["imagine", str(digit), "--out", "x.png", "--scale", str(scale)])
        assert (imagine.digit, imagine.scale) == (digit, scale) and isinstance(imagine.scale, int)


def test_upper_bounds_follow_the_limits_when_parsing(monkeypatch, capsys):
    """--epochs and --train-size are bounded by the limits in force when the command line is read."""
    from core import limits

    monkeypatch.setattr(limits, "MAX_EPOCHS", 5)
    monkeypatch.setattr(limits, "MAX_TRAINING_EXAMPLES", 300)
    args = cli.build_parser().parse_args(["train", "--epochs", "5", "--train-size", "300"])
    assert (args.epochs, args.train_size) == (5, 300)
    for option, value, limit in [("--epochs", 6, 5), ("--train-size", 301, 300)]:
        code, _, stderr = main(capsys, "train", option, value, "--sizes", "100,10")  # bad sizes: never trains
        assert code == 2
        assert stderr.startswith(f"error: argument {option}: must be between 1 and {limit}, got {value} ")


def test_test_in_process_prints_the_accuracy(capsys, small_model_path, mnist):
    code, stdout, stderr = main(capsys, "test", small_model_path)
    assert code == 0, stderr
    accuracy = Net.load(small_model_path).evaluate(*mnist[2])["accuracy"]
    assert stdout == f"{int(round(accuracy * 10000))} / 10000 correct ({100 * accuracy:.2f}%)\n"


@pytest.mark.parametrize("command", ["test", "imagine", "predict"])
def test_a_model_of_the_wrong_shape_is_named_in_the_error(capsys, tmp_path, drawings, command):
    wide = tmp_path / "wide.npz"
    Net([20, 10]).save(wide)
    args = {"test": ["test", wide], "imagine": ["imagine", 3, "--out", tmp_path / "x.png", "--model", wide],
            "predict": ["predict", drawings / "one.png", "--model", wide]}[command]
    code, _, stderr = main(capsys, *args)
    assert code == 1
    assert stderr == f"error: the model in {wide} takes 20 inputs, not 784 (28x28 pixels)\n"


def test_imagine_a_digit_the_model_has_no_output_for(capsys, tmp_path):
    model = tmp_path / "four.npz"
    Net([784, 5, 4]).save(model)
    code, _, stderr = main(capsys, "imagine", 4, "--out", tmp_path / "x.png", "--model", model)
    assert code == 2
    assert stderr == ("error: argument DIGIT: the model only has 4 outputs, got 4 "
                      "(see 'python -m core imagine --help')\n")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("digit, method, scale, article", [(8, "optimize", 3, "an"), (9, "backproject", 2, "a")])
def test_imagine_writes_the_librarys_picture_as_png(capsys, small_model_path, tmp_path, digit, method, scale, article):
    """Whatever the file name, the picture is a PNG; missing folders are made, existing ones reused."""
    from core.imagine import heatmap_image

    expected = np.asarray(heatmap_image(Net.load(small_model_path).imagine(digit, method=method), scale=scale))
    for name in ("first", "second"):
        out = tmp_path / "new" / "folder" / name
        code, stdout, stderr = main(capsys, "imagine", digit, "--out", out, "--model", small_model_path,
                                    "--method", method, "--scale", scale)
        assert code == 0, stderr
        assert stdout == f"saved what the network imagines {article} {digit} looks like ({method}) to {out}\n"
        with Image.open(out) as image:
            assert image.format == "PNG"
            np.testing.assert_array_equal(np.asarray(image), expected)


def test_imagine_reports_why_it_cannot_write(capsys, tmp_path, small_model_path):
    import errno
    import os

    blocked = tmp_path / "file"
    blocked.write_text("a file where a folder should be")
    out = blocked / "x.png"
    code, _, stderr = main(capsys, "imagine", 3, "--out", out, "--model", small_model_path)
    assert code == 1
    assert stderr == f"error: cannot write {out}: {os.strerror(errno.EEXIST)}\n"


def test_predict_in_process(capsys, small_model_path, drawings):
    code, stdout, stderr = main(capsys, "predict", drawings / "one.png", "--model", small_model_path)
    assert code == 0, stderr
    net = Net.load(small_model_path)
    probabilities = net.predict_proba(to_mnist(load_image(drawings / "one.png")).reshape(1, -1))[0]
    assert probabilities.argmax() == 1
    assert stdout == f"predicted digit: 1 (confidence {100 * probabilities.max():.1f}%)\n"
    assert main(capsys, "predict", drawings / "blank.png", "--model", small_model_path) == (0, "nothing drawn\n", "")


@pytest.mark.parametrize("error, code, message", [
    (KeyboardInterrupt(), 130, "interrupted"),
    (PermissionError(13, "Permission denied", "/models/x.npz"), 1, "Permission denied (/models/x.npz)"),
    (OSError(5, "Input/output error"), 1, "Input/output error"),
    (OSError("disk unplugged"), 1, "disk unplugged"),
    (RuntimeError("boom"), 1, "unexpected RuntimeError: boom"),
    (cli.CommandError("  \n "), 1, "failed"),
])
def test_whatever_goes_wrong_ends_in_one_error_line(monkeypatch, capsys, error, code, message):
    """Ctrl-C (130), an OS error (its reason and file, not Python's repr), a bug, an empty message."""
    def load(path):
        raise error

    monkeypatch.setattr(cli, "_load_model", load)
    assert main(capsys, "test", "model.npz") == (code, "", f"error: {message}\n")


def test_progress_bar_line_and_its_clearing():
    out, err = io.StringIO(), Recorder(tty=True)
    printer = cli._ProgressPrinter(3, out=out, err=err)
    printer(progress(9, 10, False, HISTORY))
    bar = "\r  epoch 1/3 [" + "#" * 27 + "." * 3 + "]  90%  acc 40.0%"  # 9/10 of the 30 columns
    assert err.getvalue() == bar and err.flushed == [bar]
    printer(progress(10, 10, True, HISTORY))
    clearing = err.getvalue()[len(bar):]
    assert clearing.startswith("\r") and clearing.endswith("\r")
    assert set(clearing[1:-1]) == {" "} and len(clearing) - 2 >= len(bar) - 1  # blanks the whole bar
    assert out.getvalue() == "epoch 1/3: train acc 50.00%, validation acc 91.23%, 2.50 s\n"


def test_progress_dots_on_a_stream_that_is_not_a_terminal():
    out, err = io.StringIO(), Pipe()
    printer = cli._ProgressPrinter(3, out=out, err=err)
    for batch in (2, 4, 6):
        printer(progress(batch, 8, False, HISTORY))
    printer(progress(8, 8, True, HISTORY))
    assert err.text == "...\n"
    printer._finish_indicator()  # as train does after the last epoch: no stray blank line
    assert err.text == "...\n"


def test_divergence_raises_no_numpy_warnings(capsys, tmp_path):
    """A diverging run ends in its one error line: NumPy's overflow/invalid/divide warnings (which
    ``python -m core`` would print to stderr as extra lines) are kept quiet."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, stderr = main(capsys, "train", "--sizes", "784,30,10", "--hidden", "relu", "--output", "softmax",
                               "--cost", "cross_entropy", "--init", "he", "--eta", "1e30", "--train-size", 500,
                               "--epochs", 2, "--out", tmp_path / "net.npz")
    assert code == 1 and stderr.startswith("error: training diverged")
    assert [str(w.message) for w in caught] == []


# ----- the reference page, docs/cli.md: what --help prints, and the defaults the help names -------
PROJECT = Path(__file__).resolve().parent.parent


def _reference_script():
    spec = importlib.util.spec_from_file_location("cli_reference", PROJECT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _commands():
    return _reference_script().subcommands(cli.build_parser())


def test_the_reference_page_is_what_the_command_line_prints(monkeypatch):
    reference = _reference_script()
    monkeypatch.setenv("COLUMNS", "40")  # whatever the terminal, the page is written at its own width
    written = reference.REFERENCE.read_text(encoding="utf-8")
    assert written == reference.render(), "docs/cli.md is out of date: run python scripts/cli_reference.py"


@pytest.mark.parametrize("command", ["train", "test", "imagine", "predict"])
def test_help_prints_every_option_with_its_description(command, capsys):
    assert cli.main([command, "--help"]) == cli.EXIT_OK
    printed = capsys.readouterr().out
    for action in _commands()[command]._actions:
        assert action.help, f"{command}: {action.option_strings or action.dest} has no help text"
        assert " ".join(action.help.split()) in " ".join(printed.split())


def _named_default(text):
    """(default X) in a help text, as the parsed value it names (None when it names none)."""
    match = re.search(r"\(default:? ([^)]*)\)", text)
    if not match or match[1] in ("random",) or match[1].startswith("all "):
        return None
    named = match[1]
    if "," in named:
        return [int(part) for part in named.split(",")]
    try:
        return float(named)
    except ValueError:
        return named


@pytest.mark.parametrize("command", ["train", "test", "imagine", "predict"])
def test_every_default_named_in_the_help_is_the_one_used(command):
    defaults = vars(cli.build_parser().parse_args([command] + (["0", "--out", "x.png"] if command == "imagine"
                                                              else ["x.png"] if command == "predict" else [])))
    checked = 0
    for action in _commands()[command]._actions:
        named = _named_default(action.help or "")
        if named is None:
            continue
        used = defaults[action.dest]
        if isinstance(named, str) and named.endswith(".npz"):
            assert Path(used).as_posix().endswith(named), (action.dest, used, named)
        else:
            assert used == named, (command, action.dest, used, named)
        checked += 1
    assert checked == {"train": 15, "test": 1, "imagine": 3, "predict": 1}[command]


def test_unnamed_defaults_are_the_documented_ones():
    """The two defaults the help describes in words: all training images, and a fresh random seed."""
    defaults = cli.build_parser().parse_args(["train"])
    assert defaults.train_size is None and defaults.seed is None
