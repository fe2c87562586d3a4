"""Active learning (lecture L4): every strategy x seed retrained at once against one run after another.

    python benchmarks/active_speed.py               (or: python -m benchmarks.active_speed)
    python benchmarks/active_speed.py --threads 1   (steadier on a busy 2-core machine)

labkit: ``active.run_active`` -- in each round the models of all strategies and seeds are trained
together through ``lk.fit_subsets(..., paired=True)`` (stacked parameters, one vmapped step, each
member on its own labelled pool, data resident as tensors), then each strategy queries for its own
model. plain: the same loop written the usual way -- for each strategy, for each seed, for each
round, a fresh model, a ``DataLoader(TensorDataset(...), shuffle=True)`` over the labelled pool,
``torch.optim.Adam`` for the same number of steps and batch size, then the same query function
(``active.select``) on the model's probabilities and penultimate features. The work is the
lecture's class-scale comparison on digits: 7 strategies x 5 seeds x 17 trainings of 100 steps.
Both reach similar accuracies (printed; their batches differ, so not the same numbers).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import labkit as lk  # noqa: E402
from benchmarks.common import machine_line, write_results  # noqa: E402
from labkit import active  # noqa: E402


def train_plain(model, X, y, steps, batch_size, lr, seed):
    """The textbook loop: a DataLoader over the labelled pool, Adam, ``steps`` steps."""
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    done = 0
    while done < steps:
        for xb, yb in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
            done += 1
            if done == steps:
                break
    return model.eval()


def run_plain(build, pool, test, strategies, seeds, n_initial, batch, rounds, steps, batch_size, lr):
    start = {s: active.initial_pool(pool.y.numpy(), n_initial, s) for s in seeds}
    acc = np.zeros((len(strategies), len(seeds), rounds + 1))
    for a_i, a in enumerate(strategies):
        for s_i, s in enumerate(seeds):
            labelled = list(start[s])
            for r in range(rounds + 1):
                lk.seed_everything(s)
                model = build()
                idx = np.array(labelled)
                train_plain(model, pool.X[idx], pool.y[idx], steps, min(batch_size, len(idx)), lr, s)
                with torch.no_grad():
                    acc[a_i, s_i, r] = (model(test.X).argmax(1) == test.y).float().mean().item()
                    h = model.blocks["fc1"](pool.X)  # the penultimate layer of the one-hidden-layer MLP
                    probs = model.blocks["head"](h).softmax(1)
                if r < rounds:
                    rng = np.random.default_rng([s, r, 7])
                    labelled += list(active.select(a, probs, idx, batch, h, rng))
    return acc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=16)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = machine_line()
    print(machine)
    pool, _, test = lk.data.train_val_test_split(lk.data.load_digits(), val=0.0, test=0.3)
    build = lambda: lk.models.make_model("mlp", pool, hidden=(64,))  # noqa: E731
    work = dict(strategies=list(active.STRATEGIES), seeds=list(range(args.seeds)), n_initial=20, batch=10,
                rounds=args.rounds)
    active.run_active(build, pool, test, **{**work, "rounds": 1, "seeds": [0]}, steps=5, batch_size=32, lr=3e-3)
    t = time.perf_counter()
    fast = active.run_active(build, pool, test, **work, steps=100, batch_size=32, lr=3e-3)
    labkit_s = time.perf_counter() - t
    t = time.perf_counter()
    plain = run_plain(build, pool, test, **work, steps=100, batch_size=32, lr=3e-3)
    plain_s = time.perf_counter() - t
    trainings = len(work["strategies"]) * args.seeds * (args.rounds + 1)
    print(f"{len(work['strategies'])} strategies x {args.seeds} seeds x {args.rounds + 1} trainings of 100 steps "
          f"({trainings} models)")
    print(f"labkit (all models of a round at once): {labkit_s:.1f} s; mean final accuracy {fast.accuracy[..., -1].mean():.3f}")
    print(f"plain (one after another, DataLoader): {plain_s:.1f} s; mean final accuracy {plain[..., -1].mean():.3f}")
    ratio = plain_s / labkit_s
    print(f"ratio {ratio:.2f}x (labkit within a minute: {'yes' if labkit_s <= 60 else 'no'})")
    write_results("active_speed", machine, [(
        f"{len(work['strategies'])} strategies × {args.seeds} seeds × {args.rounds + 1} trainings of 100 steps "
        f"({trainings} models)",
        ["way", "time", "mean final accuracy", "ratio", "target"],
        [["labkit (all models of a round at once)", f"{labkit_s:.1f} s", f"{fast.accuracy[..., -1].mean():.3f}",
          f"**{ratio:.2f}×**", f"within a minute: {'met' if labkit_s <= 60 else 'NOT met'}"],
         ["plain (one after another, DataLoader)", f"{plain_s:.1f} s", f"{plain[..., -1].mean():.3f}", "", ""]])])
    return 0 if labkit_s <= 60 and ratio > 1 else 1


if __name__ == "__main__":
    sys.exit(main())
