"""The contingency table of two models' correctness and the ratios derived from it (L3 §1).

``T[d, m]``: rows D incorrect / correct, columns M incorrect / correct, so ``T[1, 0]`` (= T10)
counts the test examples D gets right and M gets wrong. acc(M) = (T01 + T11) / N, acc(D) =
(T10 + T11) / N, R+ = T11 / (T01 + T11), R- = T10 / (T00 + T10), R+- = R+ / R-. R+ (R-) is NaN
when M gets no (every) test example right; R+- is NaN when R+ or R- is NaN or both are 0, and
+inf when R- = 0 < R+.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..probes.classical import Classical
from ..validation import check_positive_int

CELLS = ("00", "01", "10", "11")


CELL_NAMES = {"00": "both wrong", "01": "only M right", "10": "only D right", "11": "both right"}


def _as_bool(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x)
    except Exception as err:  # noqa: BLE001 - explain any conversion failure the same way
        raise TypeError(f"{name} must be an array of booleans (or 0/1), got {type(x).__name__}: {err}") from None
    if a.dtype == bool:
        return a
    if a.dtype.kind not in "iuf" or not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} must hold booleans or 0/1 (is the prediction right?), "
                         f"got values such as {np.unique(a)[:5].tolist()}; compare predictions with labels first")
    return a.astype(bool)


def contingency_table(m_correct, d_correct) -> np.ndarray:
    """The table T[d, m] of counts: rows D incorrect / correct, columns M incorrect / correct.

    ``m_correct`` is a boolean vector [N] (M right on each test example); ``d_correct`` is [N] or has
    leading axes ([steps, N], [steps, seeds, N]), giving one table per leading index: [..., 2, 2].
    """
    m = _as_bool(m_correct, "m_correct")
    d = _as_bool(d_correct, "d_correct")
    if m.ndim != 1:
        raise ValueError(f"m_correct must be a vector [N], got shape {m.shape}")
    if m.size == 0:
        raise ValueError("m_correct is empty; the table needs at least one test example")
    if d.ndim == 0 or d.shape[-1] != m.shape[0]:
        raise ValueError(f"d_correct must end with the {m.shape[0]} test examples of m_correct, got shape {d.shape}")
    t11 = (d & m).sum(-1)
    t10 = (d & ~m).sum(-1)
    t01 = (~d & m).sum(-1)
    t00 = (~d & ~m).sum(-1)
    return np.stack([np.stack([t00, t01], -1), np.stack([t10, t11], -1)], -2)


def table_from_predictions(y, m_pred, d_pred) -> np.ndarray:
    """T[d, m] from labels and the two models' predicted labels (all vectors [N])."""
    y, m_pred, d_pred = (np.asarray(v.cpu() if isinstance(v, torch.Tensor) else v) for v in (y, m_pred, d_pred))
    for name, v in (("y", y), ("m_pred", m_pred), ("d_pred", d_pred)):
        if v.ndim != 1:
            raise ValueError(f"{name} must be a vector of class labels [N], got shape {v.shape}")
    if not (len(y) == len(m_pred) == len(d_pred)):
        raise ValueError(f"y, m_pred and d_pred must have the same length, got {len(y)}, {len(m_pred)}, {len(d_pred)}")
    return contingency_table(m_pred == y, d_pred == y)


@dataclass
class Rates:
    """Accuracies and ratios derived from T; arrays when T had leading axes."""

    acc_m: np.ndarray
    acc_d: np.ndarray
    r_plus: np.ndarray
    r_minus: np.ndarray
    r_pm: np.ndarray


def rates(T) -> Rates:
    """acc(M), acc(D), R+, R- and R+- of one table [2, 2] or many [..., 2, 2] (see the module doc
    for the empty-subset rules: NaN where a subset is empty or for 0/0, inf for x/0 with x > 0)."""
    T = np.asarray(T.cpu() if isinstance(T, torch.Tensor) else T, dtype=np.float64)
    if T.ndim < 2 or T.shape[-2:] != (2, 2):
        raise ValueError(f"T must have shape [2, 2] (or [..., 2, 2]), got {T.shape}")
    if (T < 0).any() or not np.isfinite(T).all():
        raise ValueError("T must hold non-negative, finite counts")
    t00, t01, t10, t11 = T[..., 0, 0], T[..., 0, 1], T[..., 1, 0], T[..., 1, 1]
    total = t00 + t01 + t10 + t11
    if (total == 0).any():
        raise ValueError("T counts no examples at all; it needs at least one test example")
    with np.errstate(divide="ignore", invalid="ignore"):
        m_right, m_wrong = t01 + t11, t00 + t10
        r_plus = np.where(m_right > 0, t11 / np.where(m_right > 0, m_right, 1), np.nan)
        r_minus = np.where(m_wrong > 0, t10 / np.where(m_wrong > 0, m_wrong, 1), np.nan)
        r_pm = np.true_divide(r_plus, r_minus)  # x/0 -> inf, 0/0 -> nan, nan stays nan
    out = Rates(acc_m=m_right / total, acc_d=(t10 + t11) / total, r_plus=r_plus, r_minus=r_minus, r_pm=r_pm)
    if T.ndim == 2:
        out = Rates(*(float(v) for v in (out.acc_m, out.acc_d, out.r_plus, out.r_minus, out.r_pm)))
    return out


def constant_guess_ratios(m_correct, y, n_classes: int | None = None) -> np.ndarray:
    """R+- of a D that answers class c for every input, for each class c: [n_classes].

    An untrained net often says (almost) the same class for everything; its R+- is then the share
    of class c among the examples M gets right divided by its share among those M gets wrong. This
    is why R+- at step 0 is near 1 but not exactly 1: it is 1 only if M's errors spread over the
    classes like its correct answers do.
    """
    m = _as_bool(m_correct, "m_correct")
    y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    if y.shape != m.shape:
        raise ValueError(f"y and m_correct must both be vectors [N] of the same length, got {y.shape} and {m.shape}")
    k = int(y.max()) + 1 if n_classes is None else check_positive_int(n_classes, "n_classes", int(y.max()) + 1)
    T = np.stack([contingency_table(m, y == c) for c in range(k)])
    return rates(T).r_pm


def _m_correct(m, n: int, name: str) -> np.ndarray:
    correct = m.correct if isinstance(m, Classical) else _as_bool(m, f"M {name!r}")
    if correct.shape != (n,):
        raise ValueError(f"M {name!r} has {correct.shape[0] if correct.ndim else 0} predictions but the test set "
                         f"has {n} examples; fit it on the same test set")
    return correct
