"""Saving and loading a model's weights with its history and notes."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .members import as_members
from .results import History


def save_checkpoint(path, model: nn.Module, history: History | None = None, **meta) -> Path:
    """Save the model's weights, its class name, the history and any extra ``meta``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "model_class": type(model).__name__,
                "history": None if history is None else history.__dict__, "meta": meta}, path)
    return path


def load_checkpoint(path, model: nn.Module) -> dict:
    """Load weights saved by :func:`save_checkpoint` into ``model``; returns the saved meta
    (with ``history`` as a :class:`History` when one was saved)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    saved = torch.load(path, map_location=as_members(model).device, weights_only=False)
    if saved.get("model_class") != type(model).__name__:
        raise ValueError(f"{path} holds a {saved.get('model_class')} but the model is a {type(model).__name__}")
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{path} does not fit this model (different sizes?): {err}") from None
    meta = dict(saved["meta"])
    if saved["history"] is not None:
        meta["history"] = History(**saved["history"])
    return meta
