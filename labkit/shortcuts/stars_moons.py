"""Stars and moons (Geirhos et al. 2020; L1 §1): a location rule that solves the training set,
and the shape that only an o.o.d. test asks for."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from torch import nn

from .. import runtime
from ..data.sets import stars_moons_data
from ..models import MLP, BlockNet, SmallCNN
from ..training import evaluate, fit
from ..validation import check_fraction, check_option

ARCHITECTURES = {"fc": "fully connected (3 layers)", "cnn": "CNN with global average pooling"}


def stars_moons_model(arch: str, input_shape, hidden=(1024, 1024), width: int = 16, depth: int = 3) -> BlockNet:
    """The two contestants of the stars-and-moons task.

    ``"fc"``: a fully connected ReLU net ``input - hidden[0] - hidden[1] - 2`` (Geirhos et al. used
    40000-1024-1024-2). ``"cnn"``: a small CNN whose head averages over all positions (global
    average pooling), so where a shape sits matters far less to it.
    """
    check_option(arch, "architecture", tuple(ARCHITECTURES))
    if arch == "fc":
        return MLP(input_shape, 2, hidden=hidden)
    return SmallCNN(input_shape, 2, width=width, depth=depth)


@dataclass
class StarsMoonsResult:
    """Accuracies of one stars-and-moons run; ``model`` is the trained network."""

    arch: str
    rule: float
    train_acc: float
    iid_acc: float
    ood_acc: float
    seconds: float
    model: nn.Module = field(repr=False)

    def as_dict(self) -> dict:
        return {"arch": self.arch, "rule": self.rule, "train_acc": self.train_acc, "iid_acc": self.iid_acc,
                "ood_acc": self.ood_acc, "seconds": self.seconds}


def stars_moons_experiment(arch: str = "fc", rule: float = 1.0, size: int = 32, n_train: int = 2000,
                           n_test: int = 1000, epochs: int = 5, batch_size: int = 100, lr: float = 1e-3,
                           hidden=(1024, 1024), width: int = 16, depth: int = 3, seed: int = 0,
                           data: tuple | None = None) -> StarsMoonsResult:
    """Train ``arch`` on stars and moons whose location obeys the rule, test i.i.d. and o.o.d.

    The defaults follow Geirhos et al. (2020): Adam, batch 100, 5 epochs. ``data`` may pass a ready
    ``(train, iid, ood)`` triple (e.g. from :func:`stars_moons_data`) to share it between runs.
    """
    check_option(arch, "architecture", tuple(ARCHITECTURES))
    check_fraction(rule, "rule")
    train, iid, ood = data if data is not None else stars_moons_data(n_train, n_test, size, rule, seed)
    runtime.seed_everything(seed)
    model = stars_moons_model(arch, train.input_shape, hidden=hidden, width=width, depth=depth)
    start = time.perf_counter()
    fit(model, train, epochs=epochs, batch_size=batch_size, optimizer="adam", lr=lr, seed=seed)
    accs = [evaluate(model, d).accuracy for d in (train, iid, ood)]
    return StarsMoonsResult(arch, float(rule), *accs, seconds=time.perf_counter() - start, model=model)
