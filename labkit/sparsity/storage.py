"""What pruning actually saves: bytes of dense vs CSR storage, and the time of a matrix product.

A dense [m, n] float32 matrix takes 4·m·n bytes. CSR stores the nnz kept values, one column index
per value and m + 1 row pointers, so with 32-bit indices it takes 8·nnz + 4·(m + 1) bytes (torch's
CSR uses 64-bit indices: 12·nnz + 8·(m + 1)): it is smaller than dense only above 50 % sparsity.
A dense kernel runs at close to the machine's peak; a sparse product reads an index per value and
gathers scattered inputs, so it wins only at high sparsity. Removing whole units (channel
pruning) leaves a smaller *dense* matrix, which is as fast as its size.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ..results import Rows
from ..validation import check_fraction, check_positive_int

__all__ = ["random_sparse", "storage_bytes", "median_seconds", "MatmulTimes", "matmul_times"]


@dataclass
class MatmulTimes(Rows):
    """Times and bytes of ``W @ X`` stored four ways, returned by :func:`matmul_times`.

    ``rows`` (and ``table()``) has one row per sparsity with columns ``sparsity``; the median
    seconds ``dense s``, ``torch csr s``, ``scipy csr s`` and ``channel-pruned dense s``; the
    speed-ups over dense ``speed-up torch csr``, ``speed-up scipy csr`` and
    ``speed-up channel-pruned dense``; and the bytes of W ``dense bytes``, ``csr32 bytes`` and
    ``csr torch bytes``.
    """


def random_sparse(rows: int, cols: int, sparsity: float, seed: int = 0) -> torch.Tensor:
    """A dense float32 [rows, cols] matrix with a ``sparsity`` share of entries set to zero at random."""
    rows, cols = check_positive_int(rows, "rows"), check_positive_int(cols, "cols")
    sparsity = check_fraction(sparsity, "sparsity", 0.0, 1.0, inclusive_high=False)
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(rows, cols, generator=g)
    return W * (torch.rand(rows, cols, generator=g) >= sparsity)


def storage_bytes(W: torch.Tensor) -> dict[str, int | float]:
    """Bytes of ``W`` (2-D) stored dense (float32), as CSR with 32-bit indices (scipy) and as
    torch's CSR (64-bit indices), with the share of nonzeros.

    Returns
    -------
    dict[str, int | float]
        ``dense``, ``csr32`` and ``csr_torch`` (bytes, ints) and ``density`` (the share of
        nonzeros).
    """
    if not isinstance(W, torch.Tensor) or W.dim() != 2:
        raise ValueError(f"W must be a 2-D torch tensor, got {type(W).__name__} {getattr(W, 'shape', '')}")
    m, n = W.shape
    nnz = int((W != 0).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        csr = W.to_sparse_csr()
    torch_csr = sum(t.numel() * t.element_size() for t in (csr.values(), csr.col_indices(), csr.crow_indices()))
    return {"dense": 4 * m * n, "csr32": 8 * nnz + 4 * (m + 1), "csr_torch": int(torch_csr),
            "density": nnz / (m * n)}


def median_seconds(fn, repeats: int = 7, warmup: int = 2) -> float:
    """The median wall time of ``fn()`` over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(check_positive_int(repeats, "repeats")):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


@torch.inference_mode()
def matmul_times(size: int, sparsities, batch: int = 64, repeats: int = 7, seed: int = 0) -> MatmulTimes:
    """Time ``W @ X`` for a [size, size] W and X [size, batch] at each sparsity, four ways:
    dense (the zeros multiplied too), torch CSR, scipy CSR, and the dense matrix with the same share
    of *rows* removed (channel pruning).

    Returns
    -------
    MatmulTimes
        One row per sparsity: the seconds of each way, its speed-up over dense and the bytes of W
        (columns in :class:`MatmulTimes`).
    """
    import scipy.sparse as sp

    X = torch.randn(size, batch, generator=torch.Generator().manual_seed(seed + 1))
    Xn = X.numpy()
    rows = []
    for s in sparsities:
        W = random_sparse(size, size, s, seed)
        with warnings.catch_warnings():  # torch marks its CSR support as beta
            warnings.simplefilter("ignore", UserWarning)
            csr = W.to_sparse_csr()
        scipy_csr = sp.csr_matrix(W.numpy())
        small = W[: max(1, int(round((1 - s) * size)))].clone()
        t = {name: median_seconds(lambda A=A, B=B: A @ B, repeats)
             for name, A, B in (("dense", W, X), ("torch csr", csr, X), ("scipy csr", scipy_csr, Xn),
                                ("channel-pruned dense", small, X))}
        b = storage_bytes(W)
        rows.append({"sparsity": float(s), **{f"{k} s": v for k, v in t.items()},
                     **{f"speed-up {k}": t["dense"] / v for k, v in t.items() if k != "dense"},
                     "dense bytes": b["dense"], "csr32 bytes": b["csr32"], "csr torch bytes": b["csr_torch"]})
    return MatmulTimes(rows)
