"""The loop's per-parameter options, expanded once before the first step.

``route``, ``update_scale`` and ``masks`` name parameters or module prefixes ("blocks.fc1"); here
they become one entry per stacked parameter [S, ...], shaped to broadcast against it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch


def member_view(t, like: torch.Tensor) -> torch.Tensor:
    """A per-member value shaped to broadcast against a stacked parameter ``like`` [S, ...]: a
    vector [S], a tensor of ``like``'s shape, or one of the parameter's own shape (all members)."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if like.dim() == 0 or t.shape == like.shape:
        return t
    if t.shape == like.shape[1:]:
        return t.unsqueeze(0)
    if t.dim() == 1 and t.shape[0] == like.shape[0]:
        return t.reshape(t.shape + (1,) * (like.dim() - 1))
    raise ValueError(f"a per-member value of shape {tuple(t.shape)} does not fit a parameter of shape "
                     f"{tuple(like.shape[1:])} with {like.shape[0]} members")


def by_prefix(mapping: Mapping | None, names: Sequence[str], what: str) -> dict:
    """Expand a mapping keyed by parameter names or module prefixes ("blocks.fc1") to parameters."""
    out = {}
    for key, value in (mapping or {}).items():
        hits = [n for n in names if n == key or n.startswith(key + ".")]
        if not hits:
            raise ValueError(f"{what} names {key!r}, which matches no parameter; parameters are "
                             f"{', '.join(names[:8])}{' ...' if len(names) > 8 else ''}")
        out.update(dict.fromkeys(hits, value))
    return out


@dataclass
class PerParameter:
    """``route``: parameter -> [S] source index; ``scales``: parameter -> factor on each member's
    update; ``masks``: parameter -> 0/1 weights kept at zero. ``stacked``: the members' parameters."""

    stacked: dict
    route: dict
    scales: dict
    masks: dict

    @classmethod
    def expand(cls, members, sources: Sequence[str], route=None, update_scale=None, masks=None):
        stacked = members.stacked_params()
        names, S, device = list(stacked), len(members), members.device
        route = {n: torch.as_tensor(v, device=device).long().expand(S)
                 for n, v in by_prefix(route, names, "route").items()}
        if route and len(sources) < 2:
            raise ValueError("route needs at least two input sources in `inputs`")
        for n, r in route.items():
            if int(r.min()) < 0 or int(r.max()) >= len(sources):
                raise ValueError(f"route[{n!r}] must index the inputs {list(sources)}")
        scales = {}
        for n, v in by_prefix(update_scale, names, "update_scale").items():
            v = torch.as_tensor(v, dtype=torch.float32)
            scales[n] = member_view(v.expand(S) if v.dim() == 0 else v, stacked[n])
        masks = {n: member_view(m, stacked[n]).to(stacked[n].dtype)
                 for n, m in by_prefix(masks, names, "masks").items()}
        return cls(stacked, route, scales, masks)

    def before_step(self) -> dict | None:
        """The parameters whose update will be rescaled, as they are before the step."""
        return {n: self.stacked[n].detach().clone() for n in self.scales} or None

    @torch.no_grad()
    def after_step(self, old: dict | None) -> None:
        """Rescale each member's update (0 freezes, 0.1 is a ten times smaller rate), re-apply masks."""
        for n, f in self.scales.items():
            self.stacked[n].sub_(old[n]).mul_(f).add_(old[n])
        self.apply_masks()

    @torch.no_grad()
    def apply_masks(self) -> None:
        for n, m in self.masks.items():
            self.stacked[n].mul_(m)
