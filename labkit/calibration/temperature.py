"""Temperature scaling (Guo et al. 2017): divide the logits by one number T fitted on a validation
split, p = softmax(z / T). T > 1 softens overconfident predictions, T < 1 sharpens them; the order
of the logits, hence the predicted class, never changes."""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator

from ..validation import as_tensor, check_labels


def check_logits(logits, name: str = "logits") -> np.ndarray:
    """Logits [N, K] (K >= 2) as float64 NumPy, finite and not empty."""
    z = as_tensor(logits, name)
    if not z.is_floating_point():
        raise TypeError(f"{name} must hold floating-point logits, got dtype {z.dtype}")
    z = z.detach().cpu().double().numpy()
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"{name} must be 2-D [N examples, K >= 2 classes], got shape {z.shape}")
    if z.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 examples); pass at least one example")
    if not np.isfinite(z).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return z


def scaled_proba(logits, temperature: float) -> np.ndarray:
    """softmax(logits / temperature) [N, K]."""
    z = check_logits(logits)
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    return softmax(z / temperature, axis=1)


def nll_at(z: np.ndarray, y: np.ndarray, temperature: float) -> float:
    """Mean NLL of softmax(z / T) for labels y."""
    return float(-np.mean(log_softmax(z / temperature, axis=1)[np.arange(len(y)), y]))


class TemperatureScaling(BaseEstimator):
    """A calibrator on logits, scikit-learn style::

        ts = TemperatureScaling().fit(val_logits, val_y)   # finds temperature_ on a validation split
        probs = ts.predict_proba(test_logits)               # softmax(test_logits / temperature_)

    ``fit`` minimises the validation NLL over log T with a bounded 1-D search (Brent's method on
    [log_t_min, log_t_max]); optimising log T keeps T positive and treats 0.5 and 2 alike.
    """

    def __init__(self, log_t_min: float = -4.0, log_t_max: float = 4.0):
        self.log_t_min = log_t_min
        self.log_t_max = log_t_max

    def fit(self, logits, y):
        z = check_logits(logits)
        y = check_labels(y, n=z.shape[0], n_classes=z.shape[1]).numpy()
        if not self.log_t_min < self.log_t_max:
            raise ValueError(f"log_t_min ({self.log_t_min}) must be below log_t_max ({self.log_t_max})")
        res = minimize_scalar(lambda s: nll_at(z, y, np.exp(s)), bounds=(self.log_t_min, self.log_t_max),
                              method="bounded", options={"xatol": 1e-6})
        self.temperature_ = float(np.exp(res.x))
        self.nll_before_ = nll_at(z, y, 1.0)
        self.nll_after_ = float(res.fun)
        self.n_classes_ = z.shape[1]
        return self

    def _check_fitted(self):
        if not hasattr(self, "temperature_"):
            raise RuntimeError("TemperatureScaling is not fitted yet: call fit(val_logits, val_y) first")

    def transform(self, logits) -> np.ndarray:
        """The scaled logits z / T."""
        self._check_fitted()
        return check_logits(logits) / self.temperature_

    def predict_proba(self, logits) -> np.ndarray:
        """softmax(logits / temperature_) [N, K]."""
        self._check_fitted()
        z = check_logits(logits)
        if z.shape[1] != self.n_classes_:
            raise ValueError(f"logits have {z.shape[1]} classes but the calibrator was fitted on {self.n_classes_}")
        return softmax(z / self.temperature_, axis=1)

    def predict(self, logits) -> np.ndarray:
        """The predicted class: the argmax of the logits, the same with and without scaling."""
        return self.predict_proba(logits).argmax(1)
