"""Label errors from out-of-sample probabilities: confident learning (Northcutt et al. 2021; L2 §1).
The probabilities come from :func:`labkit.probes.out_of_sample_proba`."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..validation import check_labels


def find_label_errors(probs, y) -> pd.DataFrame:
    """Confident learning (Northcutt et al. 2021) on out-of-sample probabilities ``probs`` [N, K].

    Per class j a threshold t_j is the mean probability of class j over the examples labelled j.
    An example counts as confidently belonging to class j when p_j >= t_j (the most probable such
    class if several); it is *suspect* when that class is not its given label. Returns one row per
    example, most suspicious first (suspects before the rest, each by increasing probability of the
    given label): ``given``, ``suggested`` (the confident class, or the argmax), ``self_confidence``,
    ``suspect``.
    """
    P = np.asarray(probs, dtype=float)
    if P.ndim != 2 or P.shape[1] < 2:
        raise ValueError(f"probs must have shape [N, K] with K >= 2, got {P.shape}")
    if not np.isfinite(P).all() or (P < 0).any():
        raise ValueError("probs must be finite and non-negative")
    y = check_labels(y, n=len(P), n_classes=P.shape[1]).cpu().numpy()
    K = P.shape[1]
    thresholds = np.array([P[y == j, j].mean() if (y == j).any() else np.inf for j in range(K)])
    above = P >= thresholds[None]
    masked = np.where(above, P, -np.inf)
    confident = masked.argmax(1)
    has = above.any(1)
    suspect = has & (confident != y)
    suggested = np.where(has, confident, P.argmax(1))
    self_conf = P[np.arange(len(y)), y]
    df = pd.DataFrame({"given": y, "suggested": suggested, "self_confidence": self_conf, "suspect": suspect})
    df.index.name = "example"
    return df.sort_values(["suspect", "self_confidence"], ascending=[False, True], kind="stable")


def precision_recall(flagged, truth) -> tuple[float, float]:
    """Precision and recall of the ``flagged`` examples (bool mask or index list) against ``truth``
    (bool mask of the true label errors)."""
    truth = np.asarray(truth.cpu() if isinstance(truth, torch.Tensor) else truth).astype(bool)
    flagged = np.asarray(flagged)
    if flagged.dtype != bool:
        mask = np.zeros(len(truth), dtype=bool)
        mask[flagged.astype(int)] = True
        flagged = mask
    if flagged.shape != truth.shape:
        raise ValueError(f"flagged has shape {flagged.shape} but truth has {truth.shape}")
    hits = (flagged & truth).sum()
    precision = hits / flagged.sum() if flagged.any() else float("nan")
    recall = hits / truth.sum() if truth.any() else float("nan")
    return float(precision), float(recall)
