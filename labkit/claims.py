"""Claims: what a lecture's sentence says, checked where the student reads it (every lecture).

``lk.claim(text, holds, measured=..., expected=..., seeds=...)`` goes right under the figure or table
it comments on. It shows one line, ✓ or ✗, with the measured value(s), what was expected and the
seeds, and publishes the same as display data of type :data:`CLAIM_MIME` (a JSON object with at
least ``text``, ``holds``, ``measured``, ``expected`` and ``seeds``), which the lecture tests and the
course's book read. A claim that fails is shown as failed, with what that means, never hidden::

    lk.claim("The CNN with global pooling recognises shapes anywhere",
             ood_acc >= 0.9, measured={"o.o.d. accuracy": ood_acc}, expected="at least 0.9", seeds=[0])
"""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field

CLAIM_MIME = "application/vnd.labkit.claim+json"
FAILED = ("This did not hold in this run: the sentence above is not supported here. Look at the "
          "numbers, and try other seeds (LABKIT_SEED) before concluding either way.")


def _plain(value):
    """``value`` as JSON data: numbers (floats kept), strings, lists and dicts of them."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # JSON has no inf or NaN: "inf", "nan"
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy and torch values
        return _plain(value.tolist())
    if hasattr(value, "item"):
        return _plain(value.item())
    raise TypeError(f"claim: cannot show a {type(value).__name__} as a measured value; give numbers, "
                    "strings, lists or dicts of them")


def _show(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


@dataclass
class Claim:
    text: str
    holds: bool
    measured: object = None
    expected: object = None
    seeds: list = field(default_factory=list)
    note: str = ""

    def record(self) -> dict:
        return {"text": self.text, "holds": self.holds, "measured": self.measured, "expected": self.expected,
                "seeds": self.seeds, "note": self.note}

    def plain(self) -> str:
        mark = "✓" if self.holds else "✗"
        parts = [f"{mark} {self.text}"]
        if self.measured is not None:
            parts.append(f"measured: {_show(self.measured)}")
        if self.expected is not None:
            parts.append(f"expected: {_show(self.expected)}")
        if self.seeds:
            parts.append(f"seeds: {', '.join(map(str, self.seeds))}")
        line = " | ".join(parts)
        return line if self.holds else line + "\n  " + (self.note or FAILED)

    def html(self) -> str:
        colour = "#1a7f37" if self.holds else "#b42318"
        body = html.escape(self.plain()).replace("\n", "<br>")
        return (f'<div class="labkit-claim" style="border-left:4px solid {colour};padding:2px 8px;'
                f'margin:4px 0;font-family:monospace">{body}</div>')


def claim(text: str, holds, measured=None, expected=None, seeds=None, note: str = "") -> None:
    """Show one checked claim under the output it comments on (returns nothing, so that a claim on
    a cell's last line is not shown twice).

    ``holds`` must be a boolean (numpy's counts). ``measured``: the value(s) the claim rests on;
    ``expected``: what the sentence says they should be (a number, a range, words); ``seeds``: the
    seeds the measurement used; ``note``: what a failure means, if more than the default line.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("claim: give the sentence the claim checks as `text`")
    value = holds
    if not isinstance(value, bool) and hasattr(value, "item"):  # numpy's bool, a one-element tensor
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            pass
    if not isinstance(value, bool):
        raise TypeError(f"claim {text!r}: `holds` must be True or False, got {type(holds).__name__}")
    seeds = [int(s) for s in (seeds if seeds is not None else [])]
    _display(Claim(text.strip(), value, _plain(measured), _plain(expected), seeds, note))


def _display(c: Claim) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(c.plain())
        return
    if get_ipython() is None:
        print(c.plain())
        return
    display({"text/plain": c.plain(), "text/html": c.html(), CLAIM_MIME: json.loads(json.dumps(c.record()))},
            raw=True)


def read(nb) -> list:
    """The claims an executed notebook (an nbformat notebook) shows, in order, as dicts."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            if CLAIM_MIME in data:
                payload = data[CLAIM_MIME]
                found.append(json.loads(payload) if isinstance(payload, str) else dict(payload))
    return found
