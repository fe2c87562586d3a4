"""Random convolutional features: frozen random kernels, pooled, then a linear classifier.

:class:`RandomConvFeatures` is a scikit-learn transformer in the style of ROCKET (Dempster et al.,
arXiv 1910.13051) and MiniRocket (arXiv 2012.08791):

* ``n_kernels`` kernels of ``kernel_size`` taps (1-D for signals [N, C, L], 2-D k×k for images
  [N, C, H, W]), weights drawn from N(0, 1) and centred to mean 0 per kernel;
* the kernels are spread evenly over ``n_dilations`` dilations, exponentially spaced from 1 up to
  the largest that fits the input (so the receptive fields range from a few samples to the whole);
* each kernel's bias is drawn from the data, as in MiniRocket: the ``q``-quantile (q uniform in
  (0.1, 0.9)) of that kernel's response to one random training example, so every kernel's
  feature is informative rather than always 0 or always 1;
* each response map is pooled into features: ``"ppv"`` (the proportion of positive values,
  what makes ROCKET work), ``"max"`` and ``"mean"``.

The transform is vectorised: per dilation and block of examples, one matrix product of the input
windows with all that dilation's kernels (no Python loop over kernels), pooled while the
responses are still in the cache (writing and reading the 2·10⁹ responses of 10,000 kernels on
MNIST-1D to memory, not the multiplications, is what costs time).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["POOLINGS", "ppv", "RandomConvFeatures"]

POOLINGS = ("ppv", "max", "mean")


def ppv(z, dim=-1) -> torch.Tensor:
    """The proportion of positive values of ``z`` along ``dim`` (an int or a tuple of ints)."""
    z = torch.as_tensor(z)
    if z.numel() == 0:
        raise ValueError("ppv of an empty tensor is undefined")
    return (z > 0).float().mean(dim)


def _as_input(X, ndim=None) -> torch.Tensor:
    X = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X).float()
    if X.dim() == 2:
        X = X[:, None, :]  # [N, L] signals: one channel
    if X.dim() not in (3, 4):
        raise ValueError(f"X must be [N, L], [N, C, L] (signals) or [N, C, H, W] (images), got {tuple(X.shape)}")
    if len(X) == 0:
        raise ValueError("X is empty")
    if not torch.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values")
    if ndim is not None and X.dim() != ndim:
        raise ValueError(f"the transformer was fitted on {ndim - 2}-D inputs, got X of shape {tuple(X.shape)}")
    return X


class RandomConvFeatures(TransformerMixin, BaseEstimator):
    """Frozen random convolutions pooled into features (ROCKET-style).

    Parameters
    ----------
    n_kernels : number of random kernels (features = n_kernels × len(pooling))
    kernel_size : taps per kernel (k for 1-D, k×k for 2-D)
    n_dilations : how many dilations the kernels are spread over (fewer if the input is short)
    pooling : tuple of "ppv", "max", "mean"
    random_state : int or None, seeds the kernels, dilations and biases
    batch_size : examples whose input windows ``transform`` forms at once (memory: batch ×
        positions × channels × taps); their responses are computed a few examples at a time

    Attributes after ``fit``: ``weights_`` (list, one [K_d, C, k(, k)] tensor per dilation),
    ``dilations_`` (list of ints), ``biases_`` (list of [K_d] tensors), ``n_features_out_``.
    """

    def __init__(self, n_kernels: int = 2000, kernel_size: int = 9, n_dilations: int = 4,
                 pooling=("ppv", "max"), random_state=None, batch_size: int = 256):
        self.n_kernels = n_kernels
        self.kernel_size = kernel_size
        self.n_dilations = n_dilations
        self.pooling = pooling
        self.random_state = random_state
        self.batch_size = batch_size

    def _check_params(self):
        for name in ("n_kernels", "kernel_size", "n_dilations", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        pooling = (self.pooling,) if isinstance(self.pooling, str) else tuple(self.pooling)
        bad = [p for p in pooling if p not in POOLINGS]
        if bad or not pooling:
            raise ValueError(f"pooling must be a non-empty tuple of {POOLINGS}, got {self.pooling!r}")
        return pooling

    def _conv(self, x, w, d):
        conv = F.conv1d if x.dim() == 3 else F.conv2d
        return conv(x, w, dilation=d, padding=(self.kernel_size - 1) * d // 2)

    def fit(self, X, y=None):
        """Draw the kernels, dilations and data-driven biases for inputs like ``X``."""
        self._check_params()
        X = _as_input(X)
        self.ndim_ = X.dim()
        size = min(X.shape[2:])
        k = self.kernel_size
        if k > size:
            raise ValueError(f"kernel_size {k} is larger than the input ({size} samples)")
        g = torch.Generator().manual_seed(int(np.random.default_rng(self.random_state).integers(2**31)))
        max_exp = math.log2(max(1.0, (size - 1) / max(1, k - 1)))
        dilations = sorted({int(2 ** e) for e in np.linspace(0, max_exp, self.n_dilations)})
        per = np.array_split(np.arange(self.n_kernels), len(dilations))
        self.dilations_, self.weights_, self.biases_ = [], [], []
        taps = (k,) if X.dim() == 3 else (k, k)
        for d, idx in zip(dilations, per):
            if len(idx) == 0:
                continue
            w = torch.randn(len(idx), X.shape[1], *taps, generator=g)
            w = w - w.mean(dim=tuple(range(1, w.dim())), keepdim=True)
            examples = torch.randint(len(X), (len(idx),), generator=g)
            q = 0.1 + 0.8 * torch.rand(len(idx), generator=g)
            # kernel j's response to its own example: the grouped conv of those examples, all at once
            xs = X[examples].reshape(1, -1, *X.shape[2:])  # [1, K_d * C, ...]: group j is example j
            conv = F.conv1d if X.dim() == 3 else F.conv2d
            resp = conv(xs, w, dilation=d, groups=len(idx), padding=(k - 1) * d // 2).reshape(len(idx), -1)
            bias = _row_quantile(resp, q)
            self.dilations_.append(d)
            self.weights_.append(w)
            self.biases_.append(bias)
        self.n_features_out_ = self.n_kernels * len(self._check_params())
        return self

    @torch.inference_mode()
    def transform(self, X) -> np.ndarray:
        """Features [N, n_kernels × len(pooling)] (float32), grouped by pooling then kernel."""
        check_is_fitted(self, "weights_")
        pooling = self._check_params()
        X = _as_input(X, self.ndim_)
        if X.shape[1] != self.weights_[0].shape[1]:
            raise ValueError(f"X has {X.shape[1]} channels, the transformer was fitted on {self.weights_[0].shape[1]}")
        out = torch.empty(len(X), self.n_features_out_)
        first = 0  # the first kernel of this dilation
        for w, d, b in zip(self.weights_, self.dilations_, self.biases_):
            # every kernel of this dilation in one matrix product: the windows [N, positions, taps + 1]
            # times the weights [taps + 1, K_d], the last row -bias against a column of ones
            wt = torch.cat([w.reshape(len(w), -1), -b[:, None]], 1).T.contiguous()
            cols = {p: out[:, j * self.n_kernels + first:j * self.n_kernels + first + len(w)]
                    for j, p in enumerate(pooling)}
            for start in range(0, len(X), self.batch_size):
                win = self._windows(X[start:start + self.batch_size], d)
                win = torch.cat([win, torch.ones(len(win), 1)], 1)
                win = win.view(-1, win.shape[0] // len(X[start:start + self.batch_size]), wt.shape[0])
                step = self._block(win.shape[1], len(w))
                for i in range(0, len(win), step):
                    z = win[i:i + step] @ wt  # [B, positions, K_d]: small enough to stay in the cache
                    rows = slice(start + i, start + i + len(z))
                    if "max" in cols:
                        cols["max"][rows] = z.amax(1)
                    if "mean" in cols:
                        cols["mean"][rows] = z.mean(1)
                    if "ppv" in cols:  # last, in place: z > 0 as 1.0 / 0.0 (zero is not positive)
                        cols["ppv"][rows] = z.gt_(0).mean(1)
            first += len(w)
        return out.numpy()

    @staticmethod
    def _block(positions: int, kernels: int, cache_bytes: int = 2**19) -> int:
        """Examples per matrix product: its responses [B, positions, kernels] (float32) fit in about
        ``cache_bytes``, a core's L2 cache, so that pooling reads them from there, not from memory."""
        return max(1, cache_bytes // (4 * positions * kernels))

    def _windows(self, x, d):
        """The receptive fields of every output position, [B * positions, C * taps] (same layout as
        the weights flattened), with the zero padding of :meth:`_conv`."""
        k, pad = self.kernel_size, (self.kernel_size - 1) * d // 2
        if x.dim() == 4:
            return F.unfold(x, k, dilation=d, padding=pad).transpose(1, 2).reshape(-1, x.shape[1] * k * k)
        span = (k - 1) * d + 1
        win = F.pad(x, (pad, pad)).unfold(2, span, 1)[..., ::d]  # [B, C, positions, k]
        return win.permute(0, 2, 1, 3).reshape(-1, x.shape[1] * k)

    def transform_per_kernel(self, X) -> np.ndarray:
        """The same features with one conv call per kernel: the slow reference for tests and the
        benchmark (benchmarks/randconv_speed.py)."""
        check_is_fitted(self, "weights_")
        pooling = self._check_params()
        X = _as_input(X, self.ndim_)
        feats = {p: [] for p in pooling}
        with torch.inference_mode():
            for w, d, b in zip(self.weights_, self.dilations_, self.biases_):
                for j in range(len(w)):
                    z = self._conv(X, w[j:j + 1], d).flatten(1) - b[j]
                    pooled = {"ppv": ppv(z, 1), "max": z.amax(1), "mean": z.mean(1)}
                    for p in pooling:
                        feats[p].append(pooled[p])
        return torch.cat([torch.stack(feats[p], 1) for p in pooling], 1).numpy()


def _row_quantile(resp: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Row j's q[j]-quantile (linear interpolation, as torch.quantile), for all rows at once."""
    s = resp.sort(1).values
    pos = q * (s.shape[1] - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=s.shape[1] - 1)
    frac = pos - lo
    r = torch.arange(len(s))
    return s[r, lo] * (1 - frac) + s[r, hi] * frac
