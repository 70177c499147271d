"""Reproduce the classic MNIST results of Nielsen's "Neural Networks and Deep Learning" with core.

    python scripts/reproduce_nielsen.py            # both experiments, 30 epochs each
    python scripts/reproduce_nielsen.py --quick    # 3 epochs each, a smoke run
    python scripts/reproduce_nielsen.py --only 2 --epochs 10 --seed 7

1. Chapter 1: [784, 30, 10], sigmoid neurons, quadratic cost, N(0, 1) weights and
   biases, eta 3.0, mini-batch 10, 30 epochs; the book reports about 95%.
2. Chapter 3: [784, 100, 10], sigmoid outputs with the cross-entropy cost, L2
   regularisation lambda 5.0 (the cost gains lambda/2n sum w^2, n = 50,000), eta 0.5,
   mini-batch 10, 30 epochs, weights N(0, 1/n_in) and biases N(0, 1) (init "scaled");
   the book reports about 98%.

Training uses the 50,000 training images; the 10,000 validation images and the
10,000 test images are evaluated after every epoch (the book's chapter-1 figures
are on the test set, its chapter-3 figures on the validation set).
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import Net, load_mnist  # noqa: E402

EXPERIMENTS = {
    1: {"title": "chapter 1: [784, 30, 10] sigmoid + quadratic, N(0, 1) init, eta 3.0, mini-batch 10",
        "net": {"sizes": [784, 30, 10], "hidden": "sigmoid", "output": "sigmoid", "cost": "quadratic",
                "init": "normal"},
        "fit": {"eta": 3.0, "batch_size": 10}, "book": "about 95% (test)"},
    2: {"title": ("chapter 3: [784, 100, 10] sigmoid + cross-entropy, L2 lambda 5.0, eta 0.5, mini-batch 10, "
                  "N(0, 1/n_in) init"),
        "net": {"sizes": [784, 100, 10], "hidden": "sigmoid", "output": "sigmoid", "cost": "cross_entropy",
                "init": "scaled"},
        "fit": {"eta": 0.5, "batch_size": 10, "weight_decay": 5.0}, "book": "about 98% (validation)"},
}


def run(number, epochs, seed, data):
    train, validation, test = data
    spec = EXPERIMENTS[number]
    print(f"\n=== experiment {number}, {spec['title']}, {epochs} epochs, seed {seed}", flush=True)
    net = Net(**spec["net"], seed=seed)
    test_accuracies = []

    def report(progress):
        if not progress.epoch_done:
            return
        entry = progress.history[-1]
        accuracy = net.evaluate(test)["accuracy"]
        test_accuracies.append(accuracy)
        print(f"epoch {entry['epoch']:>2}/{epochs}: train {100 * entry['train_accuracy']:6.2f}% "
              f"cost {entry['train_cost']:.4f} | validation {100 * entry['validation_accuracy']:6.2f}% | "
              f"test {100 * accuracy:6.2f}% ({int(round(accuracy * len(test.y)))} / {len(test.y)}) | "
              f"{entry['seconds']:.2f} s", flush=True)

    started = time.perf_counter()
    result = net.fit(train, epochs=epochs, validation=validation, callback=report, seed=seed, **spec["fit"])
    wall = time.perf_counter() - started
    training = sum(entry["seconds"] for entry in net.history)
    best = max(range(len(test_accuracies)), key=test_accuracies.__getitem__) if test_accuracies else None
    summary = {
        "experiment": number, "status": result.status, "epochs": len(net.history),
        "final_test": test_accuracies[-1] if test_accuracies else None,
        "best_test": test_accuracies[best] if best is not None else None,
        "best_epoch": best + 1 if best is not None else None,
        "final_validation": net.history[-1]["validation_accuracy"] if net.history else None,
        "training_seconds": training, "wall_seconds": wall, "book": spec["book"],
    }
    if result.status != "completed":
        print(f"training {result.status}: {result.message}")
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description="Reproduce Nielsen's MNIST results with core.")
    parser.add_argument("--quick", action="store_true", help="3 epochs per experiment instead of 30")
    parser.add_argument("--epochs", type=int, help="epochs per experiment (overrides --quick)")
    parser.add_argument("--only", type=int, choices=sorted(EXPERIMENTS), help="run one experiment")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 30)

    data = load_mnist()
    started = time.perf_counter()
    summaries = [run(number, epochs, args.seed, data) for number in ([args.only] if args.only else EXPERIMENTS)]

    def pct(value):
        return "-" if value is None else f"{100 * value:.2f}%"

    print("\n=== summary")
    for s in summaries:
        print(f"experiment {s['experiment']}: {s['status']}, {s['epochs']} epochs, "
              f"final test {pct(s['final_test'])} (best {pct(s['best_test'])} at epoch {s['best_epoch']}), "
              f"final validation {pct(s['final_validation'])}; book: {s['book']}; "
              f"training {s['training_seconds']:.1f} s, wall {s['wall_seconds']:.1f} s with evaluation")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
