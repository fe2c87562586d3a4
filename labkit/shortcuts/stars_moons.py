"""Stars and moons (Geirhos et al. 2020; L1 §1): a location rule that solves the training set,
and the shape that only an o.o.d. test asks for."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
from torch import nn

from .. import runtime
from ..data.sets import stars_moons_data
from ..models import MLP, BlockNet, SmallCNN
from ..results import Result
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
class StarsMoonsResult(Result):
    """Accuracies of one stars-and-moons run (:func:`stars_moons_experiment`).

    Attributes
    ----------
    arch : str, the architecture (a key of :data:`ARCHITECTURES`)
    rule : float, the share of training images whose location obeys the rule
    train_acc, iid_acc, ood_acc : float, accuracy on the training set, the i.i.d. test (location
        rule kept) and the o.o.d. test (shapes anywhere)
    seconds : float, wall time of the training
    model : nn.Module, the trained network
    """

    arch: str
    rule: float
    train_acc: float
    iid_acc: float
    ood_acc: float
    seconds: float
    model: nn.Module = field(repr=False)

    def table(self) -> pd.DataFrame:
        """One row (this run) with the columns ``arch``, ``rule``, ``train_acc``, ``iid_acc``,
        ``ood_acc`` and ``seconds``; concatenate the tables of several runs to compare them."""
        return pd.DataFrame([{"arch": self.arch, "rule": self.rule, "train_acc": self.train_acc,
                              "iid_acc": self.iid_acc, "ood_acc": self.ood_acc, "seconds": self.seconds}])


def stars_moons_experiment(arch: str = "fc", rule: float = 1.0, size: int = 32, n_train: int = 2000,
                           n_test: int = 1000, epochs: int = 5, batch_size: int = 100, lr: float = 1e-3,
                           hidden=(1024, 1024), width: int = 16, depth: int = 3, seed: int = 0,
                           data: tuple | None = None) -> StarsMoonsResult:
    """Train ``arch`` on stars and moons whose location obeys the rule, test i.i.d. and o.o.d.

    The defaults follow Geirhos et al. (2020): Adam, batch 100, 5 epochs. ``data`` may pass a ready
    ``(train, iid, ood)`` triple (e.g. from :func:`stars_moons_data`) to share it between runs.

    Returns
    -------
    StarsMoonsResult
        The three accuracies, the training time and the trained model; its ``table()`` is one row
        (``arch``, ``rule``, ``train_acc``, ``iid_acc``, ``ood_acc``, ``seconds``).
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
