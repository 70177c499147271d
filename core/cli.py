"""Command line: ``python -m core train|test|imagine|predict ...``.

Every problem the user can cause (a bad option, a missing or corrupt file, a
setting the library refuses) ends in one line on stderr that starts with
``error:``, and exit code 2 for bad command-line arguments or 1 for failures
while running; never a traceback.
"""
import argparse
import math
import sys
from pathlib import Path

from . import limits
from .modelfile import DEFAULT_MODEL
from .network import DEFAULT_SAVE_PATH
from .validation import INITS


EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A bad command line (exit code 2)."""


class CommandError(Exception):
    """A failure while running a command (exit code 1)."""


def _usage_error(command, message):
    return UsageError(f"{message} (see 'python -m core {command} --help')")


class _Parser(argparse.ArgumentParser):
    """An argument parser that reports errors as one ``error:`` line instead of usage + exit."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ----- argument types ------------------------------------------------------------------------
def _sizes(text):
    from .validation import check_sizes

    parts = [part.strip() for part in text.split(",")]
    values = []
    for part in parts:
        try:
            values.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"layer sizes must be whole numbers separated by commas, e.g. 784,30,10; got {part!r} in {text!r}"
            ) from None
    try:
        return check_sizes(values)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _positive_number(text):
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def _non_negative_number(text):
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text}")
    return value


def _fraction(text):
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _whole(low, high=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        top = high() if callable(high) else high
        if value < low or (top is not None and value > top):
            bounds = f"at least {low}" if top is None else f"between {low} and {top}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value

    return parse


# ----- the parser ----------------------------------------------------------------------------
def build_parser():
    parser = _Parser(prog="python -m core",
                     description="Train, test and inspect MNIST networks built with the core library.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    train = commands.add_parser("train", help="train a network on MNIST and save it",
                                description="Train a network on MNIST, report every epoch, test it and save it.")
    train.add_argument("--sizes", type=_sizes, default=[784, 30, 10], metavar="N,N,...",
                       help="layer sizes, input first (default 784,30,10)")
    train.add_argument("--hidden", choices=("sigmoid", "tanh", "relu"), default="sigmoid",
                       help="hidden-layer activation (default sigmoid)")
    train.add_argument("--output", choices=("sigmoid", "softmax"), default="sigmoid",
                       help="output-layer activation (default sigmoid)")
    train.add_argument("--cost", choices=("quadratic", "cross_entropy"), default="quadratic",
                       help="cost function (default quadratic)")
    train.add_argument("--init", choices=INITS, default="normal",
                       help="weight initialisation (default normal)")
    train.add_argument("--eta", type=_positive_number, default=3.0, help="learning rate (default 3.0)")
    train.add_argument("--batch-size", type=_whole(1), default=10, help="mini-batch size (default 10)")
    train.add_argument("--epochs", type=_whole(1, lambda: limits.MAX_EPOCHS), default=30,
                       help="epochs to train (default 30)")
    train.add_argument("--optimizer", choices=("sgd", "momentum", "adam"), default="sgd",
                       help="parameter update rule (default sgd)")
    train.add_argument("--momentum", type=_fraction, default=0.9, help="momentum coefficient (default 0.9)")
    train.add_argument("--weight-decay", type=_non_negative_number, default=0.0,
                       help="L2 regularisation lambda (default 0)")
    train.add_argument("--schedule", choices=("constant", "step", "cosine"), default="constant",
                       help="learning-rate schedule (default constant)")
    train.add_argument("--step-size", type=_whole(1), default=10,
                       help="epochs between decays of the step schedule (default 10)")
    train.add_argument("--gamma", type=_positive_number, default=0.5,
                       help="decay factor of the step schedule (default 0.5)")
    train.add_argument("--augment", action="store_true", help="train on randomly distorted digits")
    train.add_argument("--train-size", type=_whole(1, lambda: limits.MAX_TRAINING_EXAMPLES), default=None,
                       metavar="N", help="train on the first N training images only (default all 50,000)")
    train.add_argument("--seed", type=_whole(0), default=None, help="random seed (default: random)")
    train.add_argument("--out", type=Path, default=DEFAULT_SAVE_PATH, metavar="PATH",
                       help="where to save the network (default data/models/network.npz)")
    train.set_defaults(run=_train)

    test = commands.add_parser("test", help="print the test accuracy of a saved network",
                               description="Load a saved network and print its accuracy on the MNIST test set.")
    test.add_argument("model", nargs="?", type=Path, default=DEFAULT_MODEL, metavar="MODEL",
                      help="model file (default data/models/default.npz)")
    test.set_defaults(run=_test)

    imagine = commands.add_parser("imagine", help="save a picture of what a network thinks a digit looks like",
                                  description="Save a heatmap PNG of what the network thinks DIGIT looks like.")
    imagine.add_argument("digit", type=_whole(0, 9), metavar="DIGIT", help="a digit from 0 to 9")
    imagine.add_argument("--out", type=Path, required=True, metavar="FILE.png", help="PNG file to write")
    imagine.add_argument("--method", choices=("backproject", "optimize"), default="backproject",
                         help="backproject the output through the weights, or optimise an input (default backproject)")
    imagine.add_argument("--scale", type=_whole(1, 64), default=8, help="pixels per MNIST pixel (default 8)")
    imagine.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="PATH",
                         help="model file (default data/models/default.npz)")
    imagine.set_defaults(run=_imagine)

    predict = commands.add_parser("predict", help="classify a picture of a handwritten digit",
                                  description="Print the digit a saved network sees in an image file.")
    predict.add_argument("image", type=Path, metavar="IMAGE", help="image file (PNG, JPEG, ...)")
    predict.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="PATH",
                         help="model file (default data/models/default.npz)")
    predict.set_defaults(run=_predict)
    return parser


# ----- commands ------------------------------------------------------------------------------
class _ProgressPrinter:
    """Per-epoch result lines on stdout and a progress indicator within the epoch on stderr.

    On a terminal the indicator is a ``\\r``-updated bar; otherwise a dot per tenth of an epoch.
    """

    BAR = 30

    def __init__(self, epochs, out=None, err=None):
        self.epochs = epochs
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.tty = bool(getattr(self.err, "isatty", lambda: False)())
        self.dots = 0

    def __call__(self, progress):
        if progress.epoch_done:
            self._finish_indicator()
            entry = progress.history[-1]
            validation = entry["validation_accuracy"]
            validation = "n/a" if validation is None else f"{100 * validation:.2f}%"
            print(f"epoch {progress.run_epoch}/{progress.run_epochs}: train acc {100 * entry['train_accuracy']:.2f}%, "
                  f"validation acc {validation}, {entry['seconds']:.2f} s", file=self.out, flush=True)
        elif self.tty:
            share = progress.batch / progress.batches
            filled = int(round(share * self.BAR))
            self.err.write(f"\r  epoch {progress.run_epoch}/{progress.run_epochs} [{'#' * filled}{'.' * (self.BAR - filled)}]"
                           f" {100 * share:3.0f}%  acc {100 * progress.running_accuracy:.1f}%")
            self.err.flush()
        else:
            self.err.write(".")
            self.err.flush()
            self.dots += 1

    def _finish_indicator(self):
        if self.tty:
            self.err.write("\r" + " " * (self.BAR + 40) + "\r")
            self.err.flush()
        elif self.dots:
            self.err.write("\n")
            self.err.flush()
            self.dots = 0


def _train(args):
    import numpy as np

    from .mnist import load_mnist
    from .network import Net

    if args.sizes[0] != 784:
        raise _usage_error("train", f"argument --sizes: the first layer must have 784 inputs (28x28 pixels), "
                                    f"got {args.sizes[0]}")
    if args.sizes[-1] != 10:
        raise _usage_error("train", f"argument --sizes: the last layer must have 10 outputs (one per digit), "
                                    f"got {args.sizes[-1]}")
    if args.train_size is not None and args.batch_size > args.train_size:
        raise _usage_error("train", f"argument --batch-size: {args.batch_size} is larger than the training set "
                                    f"({args.train_size:,} images)")
    train, validation, test = load_mnist()
    n = min(len(train.y), args.train_size or len(train.y))
    if args.batch_size > n:
        raise _usage_error("train", f"argument --batch-size: {args.batch_size} is larger than the training set "
                                    f"({n:,} images)")

    net = Net(args.sizes, hidden=args.hidden, output=args.output, cost=args.cost, init=args.init, seed=args.seed)
    print(f"training {net.sizes} (hidden {net.hidden}, output {net.output}, cost {net.cost}, init {net.init}; "
          f"{net.n_parameters:,} parameters) on {n:,} images for {args.epochs} epochs: {args.optimizer}, "
          f"eta {args.eta:g}, batch size {args.batch_size}", flush=True)
    batches = math.ceil(n / args.batch_size)
    printer = _ProgressPrinter(args.epochs)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is reported below
        result = net.fit((train.X[:n], train.y[:n]), args.epochs, args.eta, args.batch_size, validation,
                         optimizer=args.optimizer, momentum=args.momentum, weight_decay=args.weight_decay,
                         schedule=args.schedule, step_size=args.step_size, gamma=args.gamma,
                         augment=args.augment, callback=printer, progress_every=max(1, batches // 10))
    printer._finish_indicator()
    if result.status == "diverged":
        raise CommandError(f"{result.message} The network was not saved.")
    if result.status != "completed":
        raise CommandError(f"training did not complete: {result.message}")
    accuracy = net.evaluate(*test)["accuracy"]
    net.test_accuracy = accuracy
    print(f"test accuracy: {100 * accuracy:.2f}%")
    path = net.save(args.out)
    print(f"saved to {path}")


def _load_model(path):
    from .network import Net

    return Net.load(path)


def _test(args):
    from .mnist import load_mnist

    net = _load_model(args.model)
    _check_mnist_shaped(net, args.model)
    _, _, test = load_mnist()
    net.test(test)


def _check_mnist_shaped(net, path):
    if net.sizes[0] != 784:
        raise CommandError(f"the model in {path} takes {net.sizes[0]} inputs, not 784 (28x28 pixels)")


def _imagine(args):
    from .imagine import heatmap_image

    net = _load_model(args.model)
    _check_mnist_shaped(net, args.model)
    if args.digit >= net.sizes[-1]:
        raise _usage_error("imagine", f"argument DIGIT: the model only has {net.sizes[-1]} outputs, got {args.digit}")
    values = net.imagine(args.digit, method=args.method)
    image = heatmap_image(values, scale=args.scale)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        image.save(args.out, format="PNG")
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error.strerror or error}") from None
    article = "an" if args.digit == 8 else "a"
    print(f"saved what the network imagines {article} {args.digit} looks like ({args.method}) to {args.out}")


def _predict(args):
    from .preprocess import load_image, to_mnist

    net = _load_model(args.model)
    _check_mnist_shaped(net, args.model)
    try:
        image = load_image(args.image)
    except FileNotFoundError:
        raise CommandError(f"no image file at {args.image}") from None
    except IsADirectoryError:
        raise CommandError(f"{args.image} is a folder, not an image") from None
    digit_image = to_mnist(image)
    if digit_image is None:
        print("nothing drawn")
        return
    probabilities = net.predict_proba(digit_image.reshape(1, -1))[0]
    digit = int(probabilities.argmax())
    print(f"predicted digit: {digit} (confidence {100 * float(probabilities[digit]):.1f}%)")


# ----- entry point ---------------------------------------------------------------------------
def main(argv=None):
    """Run the command line; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        args.run(args)
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else EXIT_OK
    except UsageError as error:
        return _fail(error, EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as error:  # ValueError, ModelFileError, MnistError, OSError, ...
        from .mnist import MnistError
        from .modelfile import ModelFileError

        if isinstance(error, (CommandError, ValueError, ModelFileError, MnistError)):
            return _fail(error, EXIT_FAILURE)
        if isinstance(error, OSError):
            where = f" ({error.filename})" if getattr(error, "filename", None) else ""
            return _fail(f"{error.strerror or error}{where}", EXIT_FAILURE)
        return _fail(f"unexpected {type(error).__name__}: {error}", EXIT_FAILURE)
    return EXIT_OK


def _fail(message, code):
    text = " ".join(str(message).split()) or "failed"
    print(f"error: {text}", file=sys.stderr)
    return code
