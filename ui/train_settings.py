"""Build & Train settings: presets, and turning the form's values into a network and a run."""
from dataclasses import dataclass, field

from core import Net
from core.training import check_fit_settings

from .training_job import check_run_budget

OUTPUT_COSTS = {
    "sigmoid + quadratic": ("sigmoid", "quadratic"),
    "sigmoid + cross-entropy": ("sigmoid", "cross_entropy"),
    "softmax + cross-entropy": ("softmax", "cross_entropy"),
}


@dataclass
class TrainSettings:
    hidden_sizes: list = field(default_factory=lambda: [30])
    hidden: str = "sigmoid"
    output_cost: str = "sigmoid + quadratic"
    init: str = "normal"
    optimizer: str = "sgd"
    eta: float = 3.0
    batch_size: int = 10
    epochs: int = 5
    weight_decay: float = 0.0
    schedule: str = "constant"
    augment: bool = False
    train_size: int = 10_000
    seed: int = 0

    @property
    def sizes(self):
        return [784, *self.hidden_sizes, 10]

    def build(self):
        """A new network with these settings (ValueError if they are not allowed)."""
        output, cost = OUTPUT_COSTS[self.output_cost]
        return Net(self.sizes, hidden=self.hidden, output=output, cost=cost, init=self.init, seed=self.seed)

    def check(self, sizes=None):
        """ValueError if these learning settings cannot be trained (before anything starts), on a
        network of ``sizes`` (default: the one these settings build), within this server's budget."""
        options = self.fit_options()
        del options["augment"]
        check_fit_settings(self.train_size, **options)
        check_run_budget(self.sizes if sizes is None else sizes, self.train_size, self.epochs)

    def fit_options(self):
        """Keyword arguments for Net.fit (progress reported about 50 times an epoch)."""
        batches = max(1, self.train_size // self.batch_size)
        return {"epochs": self.epochs, "eta": self.eta, "batch_size": self.batch_size,
                "optimizer": self.optimizer, "weight_decay": self.weight_decay,
                "schedule": self.schedule, "augment": self.augment,
                "progress_every": max(1, batches // 50)}

    def summary(self):
        arrows = "→".join(str(s) for s in self.sizes)
        return ", ".join([arrows, self.hidden, self.output_cost, self.learning_summary()])

    def learning_summary(self):
        """The settings of one training call: 'sgd η 3, batch 10, 10,000 examples' (and any extras)."""
        extras = [f"L2 {self.weight_decay:g}"] if self.weight_decay else []
        extras += ["augmented"] if self.augment else []
        extras += [self.schedule] if self.schedule != "constant" else []
        return ", ".join([f"{self.optimizer} η {self.eta:g}", f"batch {self.batch_size}",
                          f"{self.train_size:,} examples", *extras])


PRESETS = {
    "Original (sigmoid, η 3)": TrainSettings(),
    "Modern (ReLU, Adam): ~98%": TrainSettings(
        hidden_sizes=[256, 128], hidden="relu", output_cost="softmax + cross-entropy", init="he",
        optimizer="adam", eta=0.001, batch_size=64, epochs=8, schedule="cosine", train_size=50_000),
}
