"""Random convolutional features (lecture L7): the cache-blocked transform against the transform it
replaced and a loop over kernels, side by side in one run.

    python -m benchmarks.randconv_speed   (one thread, the target's; make bench runs it)

labkit: ``randconv.RandomConvFeatures.transform`` -- per dilation and block of a few examples, one
matrix product of the input windows with every kernel of that dilation (bias folded in), pooled
while the responses are still in the cache. previous: :func:`previous_transform`, the transform
labkit had before: the same product over 64 examples at a time, the responses [64, 40, 2,500]
(26 MB) written to memory and pooled from there in three passes. loop: ``transform_per_kernel``,
one ``F.conv1d`` call per kernel over all examples, measured on ``--loop-kernels`` of the same
kernels (default 1,000) and scaled linearly (its cost is linear in the number of kernels).

The work is the issue's: 10,000 kernels fitted on the 4,000 MNIST-1D training signals and applied
to all 5,000 (training and test), fit included. The features of the three are compared, and the
lecture's classifier (standardise, RidgeClassifierCV) is fitted on labkit's and on the previous
features at two seeds: the accuracies must agree within 0.005. Target: labkit within 3 s on one
thread.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

import labkit as lk
from benchmarks.common import machine_line, write_results
from labkit import randconv as rc

TARGET_S = 3.0


@torch.inference_mode()
def previous_transform(tf: rc.RandomConvFeatures, X, batch: int = 64) -> np.ndarray:
    """The transform labkit had before, kept here as the reference: per dilation and batch of
    ``batch`` examples, windows @ weights into a [batch, positions, K_d] tensor in memory, then
    max, and PPV in place (clamp, sign, mean)."""
    X = torch.as_tensor(X).float()
    X = X[:, None] if X.dim() == 2 else X
    pooling = tuple(tf.pooling)
    out = np.empty((len(X), tf.n_features_out_), dtype=np.float32)
    flat = [(torch.cat([w.reshape(len(w), -1), -b[:, None]], 1).T.contiguous(), d)
            for w, d, b in zip(tf.weights_, tf.dilations_, tf.biases_)]
    for i in range(0, len(X), batch):
        xb = X[i:i + batch]
        feats = {p: [] for p in pooling}
        for wt, d in flat:
            win = tf._windows(xb, d)
            win = torch.cat([win, torch.ones(len(win), 1)], 1)
            z = (win @ wt).view(len(xb), -1, wt.shape[1])
            if "max" in pooling:
                feats["max"].append(z.amax(1))
            if "mean" in pooling:
                feats["mean"].append(z.mean(1))
            if "ppv" in pooling:
                feats["ppv"].append(z.clamp_(min=0).sign_().mean(1))
        out[i:i + len(xb)] = torch.cat([torch.cat(feats[p], 1) for p in pooling], 1).numpy()
    return out


def seconds(fn):
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def accuracy(features, y, n_train: int) -> float:
    head = rc.rocket_pipeline()[1:]  # the lecture's classifier on top of given features
    return float(head.fit(features[:n_train], y[:n_train]).score(features[n_train:], y[n_train:]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: the target's)")
    parser.add_argument("--kernels", type=int, default=10000)
    parser.add_argument("--loop-kernels", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = machine_line()
    print(machine, flush=True)
    train, _, test = lk.data.load_mnist1d()
    (Xtr, ytr), (Xte, yte) = rc.as_arrays(train), rc.as_arrays(test)
    X, y = np.concatenate([Xtr, Xte]), np.concatenate([ytr, yte])
    warm = rc.RandomConvFeatures(n_kernels=200, random_state=0).fit(Xtr)
    warm.transform(X[:64]), previous_transform(warm, X[:64])  # untimed: torch's first-call costs
    rows, ok = [], True
    for seed in args.seeds:
        tf = rc.RandomConvFeatures(n_kernels=args.kernels, random_state=seed)
        t_new, new = seconds(lambda tf=tf: tf.fit(Xtr).transform(X))
        t_old, old = seconds(lambda tf=tf: previous_transform(tf.fit(Xtr), X))
        differ = float((np.abs(new - old) > 1e-4).mean())
        acc_new, acc_old = accuracy(new, y, len(Xtr)), accuracy(old, y, len(Xtr))
        rows.append((seed, t_new, t_old, differ, acc_new, acc_old))
        ok &= abs(acc_new - acc_old) <= 0.005 and t_new <= TARGET_S
    loop = rc.RandomConvFeatures(n_kernels=args.loop_kernels, random_state=0).fit(Xtr)
    t_loop, slow = seconds(lambda: loop.transform_per_kernel(X))
    agree = np.abs(slow - loop.transform(X)).max()
    t_loop *= args.kernels / args.loop_kernels
    best = min(r[1] for r in rows)
    write_results("randconv_speed", machine, [(
        f"{args.kernels:,} kernels fitted on {len(Xtr):,} MNIST-1D signals and applied to {len(X):,}, "
        f"{torch.get_num_threads()} thread(s); target: labkit within {TARGET_S:g} s and the accuracies within "
        f"0.005: {'met' if ok else 'NOT met'}",
        ["seed", "labkit", "previous transform", "ratio", "features that differ", "accuracy, labkit",
         "accuracy, previous"],
        [[seed, f"{t_new:.2f} s", f"{t_old:.2f} s", f"{t_old / t_new:.1f}×", f"{differ:.1e}", f"{acc_new:.4f}",
          f"{acc_old:.4f}"] for seed, t_new, t_old, differ, acc_new, acc_old in rows]),
        (f"The per-kernel loop, timed on {args.loop_kernels:,} kernels and scaled to {args.kernels:,}",
         ["per-kernel loop", "labkit's best", "ratio", "largest difference from labkit's features"],
         [[f"{t_loop:.1f} s", f"{best:.2f} s", f"{t_loop / best:.0f}×", f"{agree:.1e}"]])])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
