"""Section 2: intrinsic dimension (Li, Farkhoor, Liu & Yosinski, arXiv 1804.08838).

Train only in a random d-dimensional subspace of the D parameters: theta = theta0 + P theta_d,
with theta0 the network's random initialisation, P a fixed dense random [D, d] matrix with unit-norm
columns (as the paper's code does for small models) and theta_d, starting at zero, the only thing
that learns. :class:`SubspaceNet` is an ``nn.Module`` whose one parameter is theta_d; it runs the
original network through ``torch.func.functional_call`` with the parameters built from theta_d, so
labkit's one loop trains it like any other model, several seeds and several d at once (each member
gets the widest P and a mask keeps the coordinates beyond its own d at zero).

d_int90 is the smallest d whose accuracy reaches 90 % of the full network's.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.func import functional_call

from ..data.core import Data
from ..results import Result
from ..training.batches import EpochBatches
from ..training.fit import build_members, fit_many, prepare_data, resolve_device
from ..training.loop import train_members
from ..validation import check_positive_int

__all__ = ["SubspaceNet", "random_projection", "SubspaceSweep", "subspace_sweep", "d_int90"]


def random_projection(D: int, d: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A dense Gaussian [D, d] matrix whose columns have unit norm."""
    D, d = check_positive_int(D, "D"), check_positive_int(d, "d")
    P = torch.randn(D, d, generator=generator)
    return P / P.norm(dim=0, keepdim=True)


class SubspaceNet(nn.Module):
    """``net`` with its D parameters restricted to theta0 + P theta_d.

    Parameters
    ----------
    net : an nn.Module without buffers (no BatchNorm); its current parameters are theta0
    d : the subspace's dimension (the length of theta_d, the only trainable parameter)
    seed : seeds P (default: drawn from torch's current generator)
    projection : a ready P [D, >= d] (its first d columns are used) shared with other SubspaceNets;
        it is held outside the module's state, so stacked members read one copy (the caller puts it
        on the right device)

    ``theta()`` gives the full parameter vector [D]; ``to_network()`` a copy of ``net`` holding it.
    """

    def __init__(self, net: nn.Module, d: int, seed: int | None = None, projection: torch.Tensor | None = None):
        super().__init__()
        if not isinstance(net, nn.Module):
            raise TypeError(f"net must be an nn.Module, got {type(net).__name__}")
        if any(True for _ in net.buffers()):
            raise ValueError("SubspaceNet needs a network without buffers (no BatchNorm); use group norm "
                             "or none, e.g. lk.models.make_model('cnn', data) for MNIST-1D")
        params = dict(net.named_parameters())
        if not params:
            raise ValueError("the network has no parameters to restrict")
        self.names = list(params)
        self.shapes = [p.shape for p in params.values()]
        self.D = sum(p.numel() for p in params.values())
        self.d = check_positive_int(d, "d")
        g = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        device = next(iter(params.values())).device
        self.register_buffer("theta0", torch.cat([p.detach().flatten() for p in params.values()]).clone())
        if projection is None:
            self.register_buffer("P", random_projection(self.D, self.d, g).to(device))
            self._shared = None
        else:
            if projection.dim() != 2 or projection.shape[0] != self.D or projection.shape[1] < self.d:
                raise ValueError(f"projection must have shape [{self.D}, >= {self.d}], got {tuple(projection.shape)}")
            self._shared = (projection[:, :self.d],)
        self.theta_d = nn.Parameter(torch.zeros(self.d, device=device))
        self._net = (copy.deepcopy(net).to("meta"),)  # structure only, not registered: not trained

    def theta(self) -> torch.Tensor:
        """theta0 + P theta_d: the network's parameters as one vector [D]."""
        P = self.P if self._shared is None else self._shared[0]
        return self.theta0 + P @ self.theta_d

    def parameter_dict(self) -> dict[str, torch.Tensor]:
        """The network's parameters, by name, built from :meth:`theta`."""
        flat, out, i = self.theta(), {}, 0
        for name, shape in zip(self.names, self.shapes):
            k = math.prod(shape)
            out[name] = flat[i:i + k].view(shape)
            i += k
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self._net[0], self.parameter_dict(), (x,))

    def to_network(self) -> nn.Module:
        """A plain copy of the network with the subspace's parameters (for analysis)."""
        net = copy.deepcopy(self._net[0]).to_empty(device=self.theta0.device)
        with torch.no_grad():
            for name, value in self.parameter_dict().items():
                net.get_parameter(name).copy_(value)
        return net


@dataclass
class SubspaceSweep(Result):
    """Subspace training at several d against the full network, returned by :func:`subspace_sweep`.

    Attributes
    ----------
    dims : ndarray [len(dims)]
        The subspace dimensions d, increasing.
    seeds : list of int
        One per row of ``accuracy``.
    accuracy : ndarray [len(seeds), len(dims)]
        Accuracy of subspace training per seed and d.
    full_accuracy : ndarray [len(seeds)]
        Accuracy of the full network per seed.
    D : int
        The network's number of parameters.
    measured_on : str
        ``"test"`` or ``"train"``: where the accuracies were measured.
    seconds : float
        Time of the whole sweep.

    ``table()`` gives one row per seed and d, with columns ``seed``, ``d``, ``accuracy`` and
    ``full_accuracy`` (that seed's full network).
    """

    dims: np.ndarray
    seeds: list[int]
    accuracy: np.ndarray
    full_accuracy: np.ndarray
    D: int
    measured_on: str
    seconds: float

    @property
    def mean_accuracy(self) -> np.ndarray:
        return self.accuracy.mean(0)

    def d_int90(self, fraction: float = 0.9) -> int | None:
        """:func:`d_int90` of the mean accuracy over the seeds against the full network's mean."""
        return d_int90(self.dims, self.mean_accuracy, float(self.full_accuracy.mean()), fraction)

    def table(self) -> pd.DataFrame:
        """One row per seed and d (columns in the class docstring)."""
        return pd.DataFrame([{"seed": seed, "d": int(d), "accuracy": self.accuracy[i, j],
                              "full_accuracy": self.full_accuracy[i]}
                             for i, seed in enumerate(self.seeds) for j, d in enumerate(self.dims)])


def d_int90(dims, accuracy, full_accuracy: float, fraction: float = 0.9) -> int | None:
    """The smallest d in ``dims`` whose ``accuracy`` reaches ``fraction`` x ``full_accuracy``;
    None when none does (the sweep must go higher)."""
    dims, accuracy = np.asarray(dims), np.asarray(accuracy, dtype=float)
    if dims.shape != accuracy.shape or dims.ndim != 1 or dims.size == 0:
        raise ValueError(f"dims and accuracy must be 1-D of the same length, got {dims.shape} and {accuracy.shape}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    order = np.argsort(dims)
    hit = accuracy[order] >= fraction * full_accuracy
    return int(dims[order][hit.argmax()]) if hit.any() else None


def _accuracies(members, data: Data) -> np.ndarray:
    logits = members.predict_logits(data.X)
    return (logits.argmax(-1) == data.y.to(logits.device)).float().mean(1).cpu().numpy()


def subspace_sweep(build: Callable[[], nn.Module], train: Data, test: Data | None, dims: Sequence[int],
                   seeds: Sequence[int] = (0, 1, 2), epochs: int = 20, batch_size: int = 128,
                   lr: float = 0.05, full_lr: float = 1e-3, lr_dim: int | None = None, device=None,
                   progress: bool | None = None) -> SubspaceSweep:
    """Train ``build()`` in subspaces of every d in ``dims`` and in full, for every seed.

    For each seed s, every d trains at once in one run of labkit's loop: member d is
    ``SubspaceNet(build(), max(dims))`` built after seeding with s (the same theta0 for every d), all
    sharing one P [D, max(dims)] drawn from s, with theta_d masked beyond d (so the subspaces of one
    seed are nested, and one matrix product serves every member). The full
    networks (``lk.fit_many``-style, one per seed) train with Adam at ``full_lr``. Accuracies are on
    ``test``, or on ``train`` when ``test`` is None (the shuffled-label experiment).

    theta_d trains with Adam at one learning rate ``lr`` for every d, as in the paper. Adam moves every
    coordinate of theta_d by about ``lr`` per step, so the step in parameter space grows like
    sqrt(d); ``lr_dim`` (default None: off) scales the updates of members with d above it by
    sqrt(lr_dim / d) to keep that step the same for every d. That departs from the paper and
    changes what is measured: on MNIST-1D with the lecture's MLP (L6 section 3, three seeds), d_int90
    was 640 without it at lr = 0.05 and 1,280 or beyond the grid with it at lr = 0.2 (at 0.2
    unscaled the largest subspaces diverged when memorising shuffled labels).

    Returns
    -------
    SubspaceSweep
        ``accuracy`` [len(seeds), len(dims)], ``full_accuracy`` [len(seeds)], ``D``,
        ``measured_on``; ``d_int90()`` reads it, ``table()`` gives one row per seed and d.
    """
    if not isinstance(train, Data) or (test is not None and not isinstance(test, Data)):
        raise TypeError("train (and test, unless None) must be labkit Data")
    dims = np.asarray(sorted({check_positive_int(d, "d") for d in dims}))
    if dims.size == 0:
        raise ValueError("dims is empty; give at least one subspace dimension")
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and non-empty, got {seeds}")
    device = resolve_device(device)
    D = sum(p.numel() for p in build().parameters())
    if dims.max() > D:
        raise ValueError(f"d goes up to {dims.max()} but the network has only D = {D} parameters")
    start = time.perf_counter()
    d_max = int(dims.max())
    scale = torch.ones(len(dims)) if lr_dim is None else torch.tensor(np.minimum(1.0, np.sqrt(lr_dim / dims)))
    mask = torch.stack([(torch.arange(d_max) < d).float() for d in dims]).to(device)
    where = (test if test is not None else train).to(device)
    acc = np.zeros((len(seeds), len(dims)))
    data = None
    for i, s in enumerate(seeds):
        P = random_projection(D, d_max, torch.Generator().manual_seed(s)).to(device)
        make = lambda P=P: SubspaceNet(build(), d_max, projection=P)  # noqa: E731
        ens = build_members(make, [s] * len(dims), device)
        data = data or prepare_data(make().to(device), train, device, "train")
        batches = EpochBatches(len(data), batch_size, [s] * len(dims), epochs=epochs, device=device)
        train_members(ens, data.X, data.y, batches, lr=lr, masks={"theta_d": mask}, update_scale={"theta_d": scale},
                      eval_every=0, progress=progress, desc=f"subspaces, seed {s}")
        acc[i] = _accuracies(ens, where)
    full, _ = fit_many(build, data, seeds=seeds, epochs=epochs, batch_size=batch_size, device=device, lr=full_lr,
                       eval_every=0, progress=progress)
    seconds = time.perf_counter() - start
    return SubspaceSweep(dims, seeds, acc, _accuracies(full, where), D, "test" if test is not None else "train", seconds)
