"""Random convolutional features (lecture L7): the vectorised transform against a loop over kernels.

    python benchmarks/randconv_speed.py               (or: python -m benchmarks.randconv_speed)
    python benchmarks/randconv_speed.py --threads 1   (steadier on a busy 2-core machine)

labkit: ``randconv.RandomConvFeatures.transform`` -- per dilation and batch of examples, one matrix
product of the input windows with every kernel of that dilation (bias folded in), PPV and max
pooled in place. plain: ``transform_per_kernel`` -- the same kernels, one ``F.conv1d`` call per
kernel over all examples, which is how one writes it kernel by kernel. Both compute the same
features (checked here); both run first once, untimed, on a few examples.

It times 10,000 kernels on all 5,000 MNIST-1D signals for labkit, and the loop on ``--loop-kernels``
of the same kernels (default 1,000), scaled up linearly to 10,000 (the loop's cost is linear in the
number of kernels; the script says so). Target: a ratio of at least 5, and labkit within 10 s.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import labkit as lk  # noqa: E402
from labkit import randconv as rc  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--kernels", type=int, default=10000)
    parser.add_argument("--loop-kernels", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    train, _, test = lk.data.load_mnist1d()
    X = np.concatenate([rc.as_arrays(train)[0], rc.as_arrays(test)[0]])
    fast = rc.RandomConvFeatures(n_kernels=args.kernels, random_state=0).fit(X[:4000])
    loop = rc.RandomConvFeatures(n_kernels=args.loop_kernels, random_state=0).fit(X[:4000])
    np.testing.assert_allclose(loop.transform(X[:20]), loop.transform_per_kernel(X[:20]), atol=1e-4)
    fast.transform(X[:20])  # warm-up
    t = time.perf_counter()
    fast.transform(X)
    labkit_s = time.perf_counter() - t
    t = time.perf_counter()
    loop.transform_per_kernel(X)
    loop_s = (time.perf_counter() - t) * args.kernels / args.loop_kernels
    ratio = loop_s / labkit_s
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{torch.get_num_threads()} thread(s), load average {load:.2f}")
    print(f"labkit: {args.kernels:,} kernels on {len(X):,} signals in {labkit_s:.1f} s")
    print(f"per-kernel loop: {loop_s:.1f} s for {args.kernels:,} kernels "
          f"(measured on {args.loop_kernels:,}, scaled linearly)")
    print(f"ratio {ratio:.1f}x (target 5x; labkit within 10 s: {'yes' if labkit_s <= 10 else 'no'})")
    return 0 if ratio >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
