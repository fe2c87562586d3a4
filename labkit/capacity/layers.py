"""Section 4: not all layers are equal (Zhang, Bengio & Singer, arXiv 1902.01996).

After training, put one block of the network back and measure the test accuracy:

* **re-initialisation**: the block's weights at the start of training (step 0);
* **checkpoint**: the block's weights at an early checkpoint (after ``early_steps`` steps);
* **re-randomisation**: fresh random weights from the same initialiser (another seed).

A block is *robust* when the accuracy barely moves, *critical* when it falls towards chance.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import runtime
from ..data.core import Data
from ..results import Result
from ..training import evaluate, fit
from ..validation import check_positive_int

__all__ = ["LayerRobustness", "Snapshot", "layer_robustness", "reset_block", "RESETS"]

RESETS = ("re-init", "checkpoint", "re-randomise")


class Snapshot:
    """A callback keeping copies of the model's parameters at step 0 and after ``early_steps`` (or
    after the last step, if training is shorter)."""

    def __init__(self, early_steps: int = 50):
        self.early_steps = check_positive_int(early_steps, "early_steps")
        self.states = {}

    def _keep(self, name, model):
        self.states[name] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def on_start(self, state):
        self._keep("re-init", state.model)

    def on_step(self, state):
        if state.step == min(self.early_steps, state.total_steps):
            self._keep("checkpoint", state.model)


def reset_block(model: nn.Module, block: str, state: dict) -> nn.Module:
    """A copy of ``model`` whose entries under ``block`` ("fc1", "blocks.fc1") come from ``state``."""
    keys = [k for k in state if k.startswith(block + ".") or k.startswith(f"blocks.{block}.")]
    if not keys:
        raise ValueError(f"{block!r} names no block of the model; blocks are {getattr(model, 'block_names', '?')}")
    out = copy.deepcopy(model)
    with torch.no_grad():
        own = out.state_dict()
        for k in keys:
            own[k].copy_(state[k])
    return out


@dataclass
class LayerRobustness(Result):
    """Test accuracy after putting each block back, returned by :func:`layer_robustness`.

    Attributes
    ----------
    accuracy : DataFrame
        Test accuracy after resetting each block (rows, in the network's order) in each way
        (columns, :data:`RESETS`).
    trained : float
        The trained network's test accuracy.
    chance : float
        The share of the test set's largest class.

    ``table()`` gives one row per block and reset, with columns ``block``, ``reset``,
    ``accuracy``, ``trained`` and ``chance``.
    """

    accuracy: pd.DataFrame
    trained: float
    chance: float

    def drop(self) -> pd.DataFrame:
        """Accuracy lost by each reset (trained - reset): blocks (rows) by resets (columns)."""
        return self.trained - self.accuracy

    def table(self) -> pd.DataFrame:
        """One row per block and reset (columns in the class docstring)."""
        long = self.accuracy.rename_axis(index="block", columns="reset").stack().rename("accuracy")
        return long.reset_index().assign(trained=self.trained, chance=self.chance)


def layer_robustness(build: Callable[[], nn.Module], train: Data, test: Data, *, epochs: int = 20,
                     early_steps: int = 20, seed: int = 0, rerandom_seed: int = 1000, **options) -> LayerRobustness:
    """Train ``build()`` (a BlockNet) with ``lk.fit`` and tabulate the three resets per block.

    The re-randomised weights come from ``build()`` after seeding with ``rerandom_seed``.

    Returns
    -------
    LayerRobustness
        ``accuracy`` (blocks by resets), ``trained`` and ``chance``; ``drop()`` the accuracy each
        reset costs, ``table()`` one row per block and reset.
    """
    if not isinstance(train, Data) or not isinstance(test, Data):
        raise TypeError("train and test must be labkit Data")
    runtime.seed_everything(seed)
    model = build()
    if not hasattr(model, "block_names"):
        raise TypeError("layer_robustness needs a labkit BlockNet (lk.models.make_model) with named blocks")
    snap = Snapshot(early_steps)
    options.setdefault("eval_every", 0)
    fit(model, train, epochs=epochs, seed=seed, callbacks=[snap], **{"desc": f"layer test, seed {seed}:", **options})
    if "checkpoint" not in snap.states:
        raise ValueError(f"training ran fewer than early_steps = {early_steps} steps; lower early_steps")
    runtime.seed_everything(rerandom_seed)
    device = next(model.parameters()).device
    snap.states["re-randomise"] = {k: v.to(device) for k, v in build().state_dict().items()}
    rows = {}
    for block in model.block_names:
        rows[block] = {how: evaluate(reset_block(model, block, snap.states[how]), test).accuracy for how in RESETS}
    chance = float(np.bincount(test.y.cpu().numpy()).max() / len(test))
    return LayerRobustness(pd.DataFrame(rows).T[list(RESETS)], evaluate(model, test).accuracy, chance)
