"""The one training loop. Every trainer in labkit (``fit``, ``fit_many``, ``fit_subsets``, L1's
block-wise counterfactual training, and the lectures after it) is this loop with a different batch
source, per-member update rules or gradient routing.

Read top to bottom, one step is:

1. the batch source yields indices [S, B] (row s: member s's batch);
2. each member's logits [S, B, K] on its own inputs, and its mean loss [S];
3. backward of the sum over members (each member's gradient stays its own), or, with ``route``,
   one backward per input source with each parameter taking the gradient of its own source;
4. one optimizer step for all members; ``update_scale`` then rescales each member's update of a
   parameter (0 freezes it, 0.1 is a ten times smaller learning rate) and ``masks`` keep pruned
   weights at zero;
5. callbacks (``on_start`` before the first step, ``on_step`` after each, ``on_end`` at the end),
   evaluation at epoch ends, the progress bar.

Data stays on the device as tensors indexed by the batch; nothing is copied per step. How long a
run is, the quick-run switch included, is the batch source's business (:mod:`.batches`).
"""
from __future__ import annotations

import os
import time
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import runtime
from ..validation import check_option, check_positive_int
from .members import members_cross_entropy
from .optim import make_optimizer, make_scheduler
from .parameters import PerParameter
from .results import History, StepState
from .routing import _frozen_stats, _routed_backward


def progress_default() -> bool:
    return os.environ.get("LABKIT_PROGRESS", "1") != "0" and not os.environ.get("NBGRADER_EXECUTION")


def member_loss(loss) -> Callable:
    """``loss`` as a function (logits [S, B, K], targets [S, B]) -> each member's mean loss [S].

    ``"ce"`` is cross-entropy. A callable ``loss(logits, targets)`` is called on the flattened
    batch [S*B, K], [S*B]; it may return per-example losses [S*B] (preferred: several members then
    train at once) or, for one member, a scalar.
    """
    if not callable(loss):
        check_option(loss, "loss", ("ce",))
        return members_cross_entropy

    def custom(logits, y):
        S, B = y.shape
        out = loss(logits.float().flatten(0, 1), y.flatten())
        if out.dim() == 1 and out.shape[0] == S * B:
            return out.view(S, B).mean(1)
        if out.dim() == 0:
            if S != 1:
                raise ValueError("a loss callable that returns a scalar can train one model only; "
                                 "return per-example losses (reduction='none') to train several at once")
            return out.reshape(1)
        raise ValueError(f"the loss callable returned shape {tuple(out.shape)}; return per-example "
                         f"losses [{S * B}] or a scalar")
    return custom


def _callbacks(callbacks) -> list:
    """Each callback as a dict of its hooks; a plain callable is an ``on_step`` hook."""
    out = []
    for cb in callbacks:
        hooks = {k: getattr(cb, k) for k in ("on_start", "on_step", "on_end") if callable(getattr(cb, k, None))}
        if not hooks:
            if not callable(cb):
                raise TypeError(f"a callback must be callable or have on_start/on_step/on_end, got {type(cb).__name__}")
            hooks = {"on_step": cb}
        out.append(hooks)
    return out


def _call(hooks: list, name: str, state: StepState) -> None:
    for h in hooks:
        if name in h:
            h[name](state)


def train_members(members, inputs, targets, batches, *, optimizer: str = "adam", lr: float | None = None,
                  weight_decay: float = 0.0, momentum: float = 0.9, schedule: str = "constant", loss="ce",
                  route=None, update_scale=None, masks=None, callbacks: Sequence = (), val=None,
                  eval_every: int = 1, amp: bool = True, progress: bool | None = None, single: bool = False,
                  desc: str = "training") -> History:
    """Train S members in place and return the :class:`History`.

    What it reads of the data, all on the members' device and indexed by the batch:
    inputs : a tensor [N, ...], or name -> tensor [N, ...] for several input sources (with
        ``route``; unrouted parameters learn from the first)
    targets : [N], what the loss compares each example's logits with (class labels for "ce";
        anything a callable ``loss`` understands, e.g. row numbers)
    batches : a batch source (:mod:`labkit.training.batches`) yielding [S, B] indices
    route : parameter name or module prefix -> [S] index into ``inputs``: which input source each
        member's parameter learns from (L1: a block learns from clean or from skewed batches);
        BatchNorm running statistics follow the same routing
    update_scale : parameter name or module prefix -> [S] (or [S, ...]) factor on each member's
        update (0 freezes; a scalar applies to every member)
    masks : parameter name -> 0/1 tensor [S, ...] (or one for all members): weights kept at zero
    single : the members are one nn.Module trained by ``fit`` (callbacks see it without the member axis)
    Returns ``loss`` [steps, S] (or [steps] when ``single``), the learning rates and evaluations.
    """
    device, S = members.device, len(members)
    if batches.n_members != S:
        raise ValueError(f"the batch source feeds {batches.n_members} members but there are {S}")
    check_positive_int(eval_every, "eval_every", 0)
    inputs = dict(inputs) if isinstance(inputs, Mapping) else {"x": inputs}
    sources, criterion = list(inputs), member_loss(loss)
    per_param = PerParameter.expand(members, sources, route, update_scale, masks)
    frozen_stats = _frozen_stats(members, per_param.route, sources)
    opt = make_optimizer(members.leaves(), optimizer, lr, weight_decay, momentum)
    sched = make_scheduler(opt, schedule, batches.total_steps)
    dtype = runtime.amp_dtype(device) if amp else None
    if per_param.route and dtype == torch.float16:
        dtype = None  # fp16 would need one loss scaler per source
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)  # a no-op unless fp16
    hooks = _callbacks(callbacks)
    total, per_epoch = batches.total_steps, batches.steps_per_epoch
    losses, lrs, evals = torch.empty(total, S, device=device), np.empty(total), []
    bar = tqdm(total=total, desc=desc if S == 1 else f"{desc} {S} members", leave=False, mininterval=0.5,
               disable=not (progress_default() if progress is None else progress))
    start = time.perf_counter()
    per_param.apply_masks()  # the masks hold from the start
    state = StepState(0, 0.0, per_epoch, total, members, single=single)
    _call(hooks, "on_start", state)
    members.train()
    step = 0
    for step, idx in enumerate(batches, 1):
        yb = targets[idx]
        opt.zero_grad(set_to_none=True)
        if per_param.route:
            logits, per_member = _routed_backward(members, inputs, sources, idx, yb, criterion, per_param.route,
                                                  frozen_stats, device, dtype is not None)
        else:
            with runtime.autocast(device, enabled=dtype is not None):
                logits = members.forward(inputs[sources[0]][idx])
                per_member = criterion(logits, yb)
            scaler.scale(per_member.sum()).backward()  # the sum keeps each member's gradient its own
        old = per_param.before_step()
        scaler.step(opt)
        scaler.update()
        per_param.after_step(old)
        lrs[step - 1] = opt.param_groups[0]["lr"]
        if sched is not None:
            sched.step()
        losses[step - 1] = per_member.detach()
        bar.update()
        if hooks:
            state = StepState(step, step / per_epoch, per_epoch, total, members, per_member.detach(), idx,
                              logits.detach().float(), yb, single=single)
            _call(hooks, "on_step", state)
        due = eval_every and step % (per_epoch * eval_every) == 0
        if val is not None and eval_every and (due or step == total or state.stop):
            evals.append({"epoch": step / per_epoch, "step": step, **_val_metrics(members, val, single)})
            bar.set_postfix(val_acc=f"{evals[-1]['val_acc']:.3f}")
        if hooks or val is not None:
            members.train()
        if state.stop:
            break
    bar.close()
    members.eval()
    _call(hooks, "on_end", state)
    loss_out = losses[:step].cpu().numpy()
    return History(loss=loss_out[:, 0] if single else loss_out, lr=lrs[:step], steps_per_epoch=per_epoch,
                   evals=evals, seconds=time.perf_counter() - start)


def _val_metrics(members, val, single: bool) -> dict:
    evs = members.evaluate(val)
    if single:
        return {"val_loss": evs[0].loss, "val_acc": evs[0].accuracy}
    accs = [e.accuracy for e in evs]
    return {"val_acc": float(np.mean(accs)), "val_acc_per_seed": accs}
