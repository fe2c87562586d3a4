"""Batch sources: what the one training loop iterates over.

A batch source knows how many members it feeds (S), the batch size B, how many steps make an
epoch and how many steps to run, and yields index tensors [S, B] into the training set: row s is
member s's batch. Three sources cover the course:

- :class:`EpochBatches`: a fresh permutation of the whole set per epoch for each member, drawn from
  the member's own seed (``fit``, ``fit_many``).
- :class:`SubsetBatches`: each member draws from its own subset of the training set (data diets,
  cross-fitting, growing labelled pools), incomplete last batches dropped.
- :class:`PlanBatches`: one fixed list of batches shared by every member (counterfactual runs that
  must see the very same batches).

Under the quick-run switch (``LABKIT_QUICK=1``) every source stops after
:data:`~labkit.runtime.QUICK_STEPS` steps of at most :data:`~labkit.runtime.QUICK_BATCH` examples
per member: the loop itself knows nothing of it.
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np
import torch

from .. import runtime
from ..validation import check_positive_int


class _Source:
    """What the loop reads of a batch source: ``n_members``, ``batch_size``, ``steps_per_epoch``,
    ``total_steps`` (after the quick-run switch) and the [S, B] index tensors it yields."""

    def _set_total(self, total: int) -> None:
        self.total_steps = runtime.quick_steps(total)

    def _batches(self):  # endless or at least total_steps long; [S, B] each
        raise NotImplementedError

    def __iter__(self):
        cap = runtime.QUICK_BATCH if runtime.quick() else None  # the code path, not the compute
        for idx in itertools.islice(self._batches(), self.total_steps):
            yield idx if cap is None else idx[:, :cap]


def steps_plan(n: int, batch_size: int, epochs, steps, drop_last: bool = False) -> tuple[int, int]:
    """(steps per epoch, total steps) for ``n`` examples and exactly one of ``epochs`` / ``steps``."""
    check_positive_int(batch_size, "batch_size")
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs or steps")
    per_epoch = n // batch_size if drop_last and n >= batch_size else math.ceil(n / batch_size)
    total = check_positive_int(steps, "steps") if steps is not None else \
        per_epoch * check_positive_int(epochs, "epochs")
    return per_epoch, total


def _permuted_batches(index: torch.Tensor, batch_size: int, per_pass: int, generator: torch.Generator):
    """Endless batches of ``index``: a fresh permutation per pass, ``per_pass`` batches each."""
    n = len(index)
    while True:
        perm = index[torch.randperm(n, generator=generator).to(index.device)]
        for b in range(per_pass):
            yield perm[b * batch_size:(b + 1) * batch_size]


class EpochBatches(_Source):
    """Every member sees the whole set once per epoch, in its own order (seeded by ``seeds[s]``).

    With ``drop_last=False`` the last batch of an epoch may be smaller; then all members (which
    share n and B) get an equally small batch at the same step.
    """

    def __init__(self, n: int, batch_size: int, seeds: Sequence[int], *, epochs=None, steps=None,
                 drop_last: bool = False, device=None):
        self.n = check_positive_int(n, "n")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.seeds = [int(s) for s in seeds]
        self.steps_per_epoch, total = steps_plan(n, batch_size, epochs, steps, drop_last)
        self._set_total(total)
        self.device = device

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    def _batches(self):
        index = torch.arange(self.n, device=self.device)
        its = [_permuted_batches(index, self.batch_size, self.steps_per_epoch, torch.Generator().manual_seed(s))
               for s in self.seeds]
        while True:
            yield torch.stack([next(it) for it in its]) if len(its) > 1 else next(its[0]).unsqueeze(0)


class SubsetBatches(_Source):
    """Member m draws batches from its own ``subsets[m]`` (a fresh permutation per pass over it,
    seeded by ``seeds[m]``), for ``steps`` steps whatever the subset's size. The batch size is
    capped by the smallest subset; incomplete batches are dropped so every member's batch has B
    examples. An epoch is counted as a pass over the largest subset."""

    def __init__(self, subsets: Sequence, seeds: Sequence[int], batch_size: int, steps: int, n: int | None = None,
                 device=None):
        if len(subsets) == 0:
            raise ValueError("subsets is empty; give at least one index array")
        if len(subsets) != len(seeds):
            raise ValueError(f"{len(subsets)} subsets but {len(seeds)} seeds; give one seed per subset")
        self.subsets = []
        for i, sub in enumerate(subsets):
            sub = torch.as_tensor(np.asarray(sub), dtype=torch.long).reshape(-1)
            if sub.numel() == 0:
                raise ValueError(f"subset {i} is empty")
            if int(sub.min()) < 0 or (n is not None and int(sub.max()) >= n):
                raise ValueError(f"subset {i} has indices outside 0..{(n or 0) - 1}")
            self.subsets.append(sub.to(device))
        self.seeds = [int(s) for s in seeds]
        self.batch_size = min(check_positive_int(batch_size, "batch_size"), min(len(s) for s in self.subsets))
        self._set_total(check_positive_int(steps, "steps"))
        self.steps_per_epoch = max(1, max(len(s) for s in self.subsets) // self.batch_size)

    @property
    def n_members(self) -> int:
        return len(self.subsets)

    def _batches(self):
        its = [_permuted_batches(sub, self.batch_size, len(sub) // self.batch_size, torch.Generator().manual_seed(s))
               for sub, s in zip(self.subsets, self.seeds)]
        while True:
            yield torch.stack([next(it) for it in its])


def batch_plan(n: int, batch_size: int, epochs: int, seed: int = 0) -> list:
    """The order in which examples are visited: one permutation per epoch, cut into batches
    (the last one of an epoch may be smaller). Reusing one plan makes runs see the same batches."""
    n = check_positive_int(n, "n")
    batch_size = check_positive_int(batch_size, "batch_size")
    gen = torch.Generator().manual_seed(check_positive_int(seed, "seed", 0))
    plan = []
    for _ in range(check_positive_int(epochs, "epochs")):
        plan += list(torch.randperm(n, generator=gen).split(batch_size))
    return plan


class PlanBatches(_Source):
    """Every one of ``n_members`` members gets batch ``plan[t]`` at step t."""

    def __init__(self, plan: Sequence, n_members: int, steps_per_epoch: int | None = None, device=None):
        if len(plan) == 0:
            raise ValueError("the batch plan is empty")
        self.plan = [torch.as_tensor(b, dtype=torch.long).to(device) for b in plan]
        self.n_members = check_positive_int(n_members, "n_members")
        self.batch_size = len(self.plan[0])
        self._set_total(len(self.plan))
        self.steps_per_epoch = steps_per_epoch or len(self.plan)

    def _batches(self):
        for b in self.plan:
            yield b.unsqueeze(0).expand(self.n_members, -1)
