"""Input checks shared by every public function: each failure says what was wrong and what to do."""
from __future__ import annotations

import numbers

import numpy as np
import torch


def as_tensor(x, name: str = "X", dtype: torch.dtype | None = None) -> torch.Tensor:
    """Convert array-likes to a tensor without copying tensors that are already fine."""
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            t = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be a numeric array or tensor, got {type(x).__name__}: {err}") from None
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    return t


def check_features(X, name: str = "X", min_dim: int = 2, max_dim: int = 4) -> torch.Tensor:
    """A float feature tensor of shape [N, ...] with N > 0 and no NaN or inf."""
    X = as_tensor(X, name)
    if X.dtype == torch.bool or not (X.is_floating_point() or X.dtype in (torch.uint8, torch.int64, torch.int32)):
        raise TypeError(f"{name} must hold numbers (float or integer pixels), got dtype {X.dtype}")
    if not X.is_floating_point():
        X = X.float()
    if not (min_dim <= X.dim() <= max_dim):
        raise ValueError(f"{name} must have {min_dim} to {max_dim} dimensions ([N, features] or "
                         f"[N, C, H, W]), got shape {tuple(X.shape)}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 examples); pass at least one example")
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values; clean or impute them first")
    return X


def check_labels(y, n: int | None = None, n_classes: int | None = None, name: str = "y") -> torch.Tensor:
    """Integer class labels of shape [N] in ``0 .. n_classes-1``."""
    y = as_tensor(y, name)
    if y.is_floating_point():
        if not torch.isfinite(y).all():
            raise ValueError(f"{name} contains NaN or infinite values; labels must be integers 0..K-1")
        if not torch.equal(y, y.round()):
            raise TypeError(f"{name} must hold integer class labels, got non-integer floats")
    elif y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels 0..K-1, got booleans; use y.long()")
    y = y.long()
    if y.dim() != 1:
        raise ValueError(f"{name} must be a 1-D vector of class labels, got shape {tuple(y.shape)}")
    if y.numel() == 0:
        raise ValueError(f"{name} is empty (0 labels); pass at least one example")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but X has {n} examples; they must match")
    if int(y.min()) < 0:
        raise ValueError(f"{name} has negative labels (min {int(y.min())}); labels must be 0..K-1")
    if n_classes is not None and int(y.max()) >= n_classes:
        raise ValueError(f"{name} has label {int(y.max())} but the model has only {n_classes} classes "
                         f"(labels must be 0..{n_classes - 1})")
    return y


def check_fraction(value, name: str, low: float = 0.0, high: float = 1.0,
                   inclusive_low: bool = True, inclusive_high: bool = True) -> float:
    """A real number in [low, high] (ends included unless said otherwise)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"{name} must be a number between {low} and {high}, got {value!r}")
    ok_low = value >= low if inclusive_low else value > low
    ok_high = value <= high if inclusive_high else value < high
    if not (ok_low and ok_high):
        lo, hi = ("[" if inclusive_low else "("), ("]" if inclusive_high else ")")
        raise ValueError(f"{name} must be in {lo}{low}, {high}{hi}, got {value}")
    return float(value)


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """An integer at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral,)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_option(value, name: str, options) -> str:
    """One of a fixed set of string options."""
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(map(repr, options))}")
    return value
