"""Where and how experiments run: device, seeds, the scale switch, mixed precision.

The scale switch ``LABKIT_SCALE`` (``smoke`` | ``class`` | ``full``) sets data sizes, epochs and
seed counts everywhere. Its default is ``class`` on every device (a GPU makes it faster, not
larger): ``full`` is chosen on purpose. nbgrader (which sets ``NBGRADER_EXECUTION``) uses
``smoke``. ``LABKIT_DEVICE`` picks the device: CUDA when available, else the CPU; Apple's MPS only
when asked for (``LABKIT_DEVICE=mps``), because the course has not been tested on it.
"""
from __future__ import annotations

import contextlib
import os
import platform
import random
from dataclasses import dataclass

import numpy as np
import torch

SCALES = ("smoke", "class", "full")
_SEED = 0
_BASE = 0  # the base seed of the last setup() (LABKIT_SEED or the notebook's own)
# The quick-run switch (LABKIT_QUICK=1): every training run stops after QUICK_STEPS steps of at most
# QUICK_BATCH examples and every dataset keeps about QUICK_EXAMPLES examples, so the whole code path
# of a scale runs in seconds.
QUICK_STEPS = 3
QUICK_BATCH = 32  # examples per member and step at most
QUICK_EXAMPLES = 256
QUICK_VALUES = 2 ** 18  # and at most about this many input values in all (fewer examples of large images)


def get_device(prefer: str | None = None) -> torch.device:
    """The device experiments run on: CUDA when available, else the CPU.

    ``prefer`` (or the ``LABKIT_DEVICE`` environment variable) forces one, e.g. ``"cpu"`` or
    ``"mps"``: Apple's MPS is used only when asked for, since nothing in the course is tested on it.
    """
    prefer = prefer or os.environ.get("LABKIT_DEVICE")
    if prefer:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {prefer!r} was asked for but CUDA is not available; "
                               "unset LABKIT_DEVICE or use 'cpu'")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(f"device {prefer!r} was asked for but MPS is not available; "
                               "unset LABKIT_DEVICE or use 'cpu'")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def get_scale() -> str:
    """The active scale: ``LABKIT_SCALE`` if set, ``smoke`` under nbgrader, else ``class`` (on every
    device: the lectures' text describes ``class``; ``full`` is chosen on purpose)."""
    value = os.environ.get("LABKIT_SCALE", "").strip().lower()
    if value:
        if value not in SCALES:
            raise ValueError(f"LABKIT_SCALE={value!r} is not a scale; use one of {', '.join(SCALES)}")
        return value
    if os.environ.get("NBGRADER_EXECUTION"):
        return "smoke"
    return "class"


def quick() -> bool:
    """True when the quick-run switch ``LABKIT_QUICK`` is on (1, true, yes, on).

    It exists to exercise a scale's whole code path in seconds (the tests run every notebook at
    ``full`` this way on a CPU); the numbers it produces mean nothing. Off, nothing changes.
    """
    value = os.environ.get("LABKIT_QUICK", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"LABKIT_QUICK={value!r} is not understood; use 1 (on) or 0 (off)")


def quick_steps(total: int) -> int:
    """``total`` training steps, or at most :data:`QUICK_STEPS` under the quick-run switch."""
    return min(total, QUICK_STEPS) if quick() else total


def scaled(smoke, class_, full, scale: str | None = None):
    """Pick the value for the active scale: ``scaled(200, 1000, 10000)``."""
    scale = scale or get_scale()
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    return {"smoke": smoke, "class": class_, "full": full}[scale]


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) in one call; return a torch generator.

    The same seed gives the same numbers on the CPU. On a GPU some kernels stay
    non-deterministic unless ``torch.use_deterministic_algorithms(True)`` is set, which is slower.
    """
    global _SEED
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    _SEED = seed
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def base_seed(default: int = 0) -> int:
    """The base seed of a notebook: ``LABKIT_SEED`` when set (so that its claims can be checked on
    seeds nobody tuned), else ``default`` (the notebook's own)."""
    value = os.environ.get("LABKIT_SEED", "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ValueError(f"LABKIT_SEED={value!r} is not a seed; give a non-negative integer, or unset it")
    return int(value)


def seeds(n: int) -> list:
    """``n`` seeds counted from the base seed of :func:`setup`: ``[s, s + 1, ..., s + n - 1]``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return list(range(_BASE, _BASE + int(n)))


def current_seed() -> int:
    """The seed given to the last :func:`seed_everything` call (0 before any)."""
    return _SEED


def amp_dtype(device: torch.device | str | None = None) -> torch.dtype | None:
    """The mixed-precision dtype for ``device``: bf16 on CUDA where supported, fp16 on older
    CUDA GPUs (with a gradient scaler), ``None`` (full fp32) on the CPU and MPS."""
    device = torch.device(device) if device is not None else get_device()
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device | str | None = None, enabled: bool = True):
    """A context manager running the forward pass in the device's mixed precision (no-op on CPU)."""
    device = torch.device(device) if device is not None else get_device()
    dtype = amp_dtype(device) if enabled else None
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass(frozen=True)
class SetupInfo:
    """What a notebook prints first: where it runs, at which scale, with which seed."""

    device: str
    scale: str
    seed: int
    torch: str
    amp: str
    python: str
    quick: bool = False
    seed_from_env: bool = False

    def __str__(self) -> str:
        seed = f"{self.seed} (from LABKIT_SEED)" if self.seed_from_env else str(self.seed)
        text = (f"labkit | device: {self.device} | scale: {self.scale} | seed: {seed} | "
                f"torch {self.torch} | mixed precision: {self.amp} | python {self.python}")
        text += ("\n(change with LABKIT_SCALE=smoke|class|full and LABKIT_DEVICE=cpu|cuda|mps in the environment "
                 "before the kernel starts, or os.environ[...] = ... in the setup cell)")
        if self.quick:
            text += (f"\nQUICK RUN (LABKIT_QUICK=1): every training run stops after {QUICK_STEPS} steps of at most "
                     f"{QUICK_BATCH} examples and every dataset keeps about {QUICK_EXAMPLES} examples; the results below mean nothing. "
                     "Unset LABKIT_QUICK for a real run.")
        return text


def setup(seed: int = 0, verbose: bool = True) -> SetupInfo:
    """Seed everything and describe the runtime; notebooks call this in their first cell.

    ``seed`` is the notebook's base seed; ``LABKIT_SEED`` in the environment replaces it (the setup
    line says so), and :func:`seeds` counts from it."""
    global _BASE
    from_env = bool(os.environ.get("LABKIT_SEED", "").strip())
    seed = base_seed(seed)
    _BASE = seed
    seed_everything(seed)
    device = get_device()
    name = device.type
    if device.type == "cuda":
        name = f"cuda ({torch.cuda.get_device_name(device)})"
    dtype = amp_dtype(device)
    info = SetupInfo(device=name, scale=get_scale(), seed=seed, torch=torch.__version__,
                     amp=str(dtype).replace("torch.", "") if dtype else "off (fp32)",
                     python=platform.python_version(), quick=quick(), seed_from_env=from_env)
    if verbose:
        print(info)
    return info
