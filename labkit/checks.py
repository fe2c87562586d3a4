"""Self-checks for exercises: every test cell of every assignment uses these, and only these.

Visible tests give the expected value and print, in plain words, what was expected and what the
answer gave. Hidden tests leave the expected value out: they only *record* what the answer gave on
inputs the student has not seen, and the grader compares that record with the reference solution's
record for the same check, outside the student's kernel::

    from labkit import checks
    checks.expect_close(accuracy_per_class([0, 1, 1], [0, 1, 0], 2), [1.0, 0.5],
                        what="accuracy_per_class([0, 1, 1], [0, 1, 0], 2)")     # visible
    y, p = checks.random_labels(200, 7, seed=3)
    checks.expect_close(accuracy_per_class(y, p, 7), what="7 classes, 200 random labels")  # hidden

Every check also emits a record (a display output of type ``RECORD_MIME``, one JSON text) holding
the kind of check, its description and the answer converted to plain JSON (numbers, strings, lists,
dicts). The course's grader (course/grader) awards a test cell only when the cell ran without an
error *and* :func:`judge` accepts each of its records against the reference solution's. A
student's code runs in the same Python process as these functions and can replace them, numpy, or
builtins; that changes what is printed here but not the grade, which is decided from the records
by a process the student's code never touches. See course/README.md.

While a test cell runs, :func:`own_work` (its first line, where the part asks for the student's own
code) makes labkit's implementation of the same thing raise (:mod:`labkit.own_work`); warnings are
shown as notes on standard output, since nbgrader fails a test cell that writes to standard error;
:func:`preflight` is the exercises' last cell (:mod:`labkit.preflight`).

The file is longer than 300 lines because the checks and the grader's judgement (:func:`judge`)
share its comparisons, which must stay in one place.
"""
from __future__ import annotations

import builtins as _builtins
import json as _json
import math as _math
import warnings as _warnings

from .own_work import OwnWorkRequired, own_work
from .own_work import check as _check_own_work
from .preflight import preflight

__all__ = ["expect_equal", "expect_close", "expect_between", "expect", "random_labels", "CheckFailed",
           "own_work", "OwnWorkRequired", "preflight", "canonical", "judge", "RECORD_MIME"]

RECORD_MIME = "application/vnd.labkit.check"  # payload: one JSON text (NaN allowed)

# Bound at import time (the notebook's first cells, before any answer runs), so that an answer that
# rebinds a builtin or math function does not change the messages printed here. Grading does not
# rely on this: see the module docstring.
_abs, _len, _isinstance, _type, _float, _str, _repr, _print = (
    _builtins.abs, _builtins.len, _builtins.isinstance, _builtins.type, _builtins.float, _builtins.str,
    _builtins.repr, _builtins.print)
_isnan, _isinf = _math.isnan, _math.isinf
_dumps = _json.dumps
_PLAIN = (bool, int, float, str, type(None))


class CheckFailed(AssertionError):
    """A check did not pass; the message says what was expected and what the answer gave."""


# ----------------------------------------------------------------------------------------------
# warnings as notes


def _note_warning(message, category, filename, lineno, file=None, line=None):
    _print(f"note: {category.__name__}: {message}  (a warning, shown here; it costs no points)")


_warnings.showwarning = _note_warning


# ----------------------------------------------------------------------------------------------
# turning answers into plain data


def canonical(value, what: str = "the answer"):
    """``value`` as plain JSON-able data: numbers, strings, None, lists and dicts with string keys.

    NumPy arrays and scalars, torch tensors and pandas objects become (nested) lists of numbers.
    Anything else (a custom object, a function, an object that claims to equal everything) raises
    :class:`CheckFailed`, so it can never pass a check by comparison tricks.
    """
    return _canonical(value, what, 0)


def _canonical(value, what, depth):
    if depth > 50:
        raise CheckFailed(f"{what} is nested too deeply to be checked")
    t = _type(value)
    if t in _PLAIN:
        return value
    if t in (list, tuple):
        return [_canonical(v, what, depth + 1) for v in value]
    if t is dict:
        return {_str(k): _canonical(v, what, depth + 1) for k, v in value.items()}
    module = getattr(t, "__module__", "") or ""
    name = getattr(t, "__name__", "")
    if module.startswith("torch") and name in ("Tensor", "Parameter"):
        return _canonical(value.detach().cpu().tolist(), what, depth + 1)
    if module.startswith("numpy") and hasattr(value, "tolist") and hasattr(value, "dtype"):
        return _canonical(value.tolist(), what, depth + 1)
    if module.startswith("pandas") and name in ("Series", "Index"):
        return _canonical(value.tolist(), what, depth + 1)
    raise CheckFailed(f"{what} should be a number, a string, a list or an array, "
                      f"but it is a {name or _repr(t)} object")


def _show(value, limit: int = 300) -> str:
    text = _dumps(value, allow_nan=True)
    return text if _len(text) <= limit else text[:limit] + " ..."


# ----------------------------------------------------------------------------------------------
# records for the grader


def _emit(record: dict) -> None:
    """Publish ``record`` as a display output the grader reads (nothing outside IPython)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: nothing to record
        return
    if get_ipython() is None:
        return
    display({RECORD_MIME: _dumps(record, allow_nan=True)}, raw=True)


def _record(kind: str, what: str, got, **extra) -> None:
    _emit({"version": 1, "kind": kind, "what": what, "got": got, **extra})


# ----------------------------------------------------------------------------------------------
# comparisons on plain data (no numpy, no operator overloading)


def _is_number(x) -> bool:
    return _type(x) in (int, float) or _type(x) is bool


def _same(a, b) -> bool:
    ta, tb = _type(a), _type(b)
    if ta is list and tb is list:
        return _len(a) == _len(b) and all(_same(x, y) for x, y in zip(a, b))
    if ta is dict and tb is dict:
        return sorted(a) == sorted(b) and all(_same(a[k], b[k]) for k in a)
    if _is_number(a) and _is_number(b):
        if _type(a) is float and _type(b) is float and _isnan(a) and _isnan(b):
            return True
        return _float(a) == _float(b)
    return ta is tb and a == b


def _close(a, b, rtol: float, atol: float) -> bool:
    ta, tb = _type(a), _type(b)
    if ta is list and tb is list:
        return _len(a) == _len(b) and all(_close(x, y, rtol, atol) for x, y in zip(a, b))
    if ta is dict and tb is dict:
        return sorted(a) == sorted(b) and all(_close(a[k], b[k], rtol, atol) for k in a)
    if _is_number(a) and _is_number(b):
        a, b = _float(a), _float(b)
        if _isnan(a) or _isnan(b):
            return _isnan(a) and _isnan(b)
        if _isinf(a) or _isinf(b):
            return a == b
        return _abs(a - b) <= atol + rtol * _abs(b)
    return _same(a, b)


def _shape(x):
    """A short description of a value's shape, for messages."""
    if _type(x) is list:
        inner = _shape(x[0]) if x else ""
        return f"a list of {_len(x)}" + (f" × ({inner})" if inner and inner.startswith("a list") else "")
    return "a number" if _is_number(x) else f"a {_type(x).__name__}"


def _passed(message: str) -> None:
    _print("OK  " + message)


# ----------------------------------------------------------------------------------------------
# the checks


def expect_equal(got, expected=None, what: str = "the answer") -> None:
    """``got`` must equal ``expected`` exactly (after conversion to plain data).

    Leave ``expected`` out in hidden tests: the grader then compares with the reference solution.
    """
    _check_own_work()
    g = canonical(got, what)
    if expected is None:
        _record("equal", what, g)
        _print(f"--  {what}: answer recorded; the grader compares it with the reference solution")
        return
    e = canonical(expected, "the expected value")
    _record("equal", what, g)
    if not _same(g, e):
        raise CheckFailed(f"{what}: expected {_show(e)}, but your answer gave {_show(g)}"
                          + ("" if _shape(g) == _shape(e) else f" ({_shape(g)} instead of {_shape(e)})"))
    _passed(f"{what}: expected {_show(e)} and got it")


def expect_close(got, expected=None, what: str = "the answer", rtol: float = 1e-5, atol: float = 1e-8) -> None:
    """``got`` must match ``expected`` within ``atol + rtol * |expected|``, element by element.

    NaN matches only NaN. Leave ``expected`` out in hidden tests: the grader then compares with the
    reference solution's value on the same inputs, using the same tolerances.
    """
    _check_own_work()
    rtol, atol = _float(rtol), _float(atol)
    g = canonical(got, what)
    _record("close", what, g, rtol=rtol, atol=atol)
    if expected is None:
        _print(f"--  {what}: answer recorded; the grader compares it with the reference solution")
        return
    e = canonical(expected, "the expected value")
    if not _close(g, e, rtol, atol):
        detail = "" if _shape(g) == _shape(e) else f" ({_shape(g)} instead of {_shape(e)})"
        raise CheckFailed(f"{what}: expected {_show(e)} (within {atol:g} + {rtol:g}×|expected|), "
                          f"but your answer gave {_show(g)}{detail}")
    _passed(f"{what}: expected {_show(e)} and got {_show(g)}")


def expect_between(got, low=None, high=None, what: str = "the value") -> None:
    """``low <= got <= high`` for a number (either bound may be None).

    Use it for values that legitimately vary between correct answers, such as a trained model's
    accuracy. The grader checks the recorded value against the bounds written in the test.
    """
    _check_own_work()
    g = canonical(got, what)
    if not _is_number(g) or _type(g) is bool:
        raise CheckFailed(f"{what} should be a single number, but it is {_show(g)}")
    lo = None if low is None else _float(low)
    hi = None if high is None else _float(high)
    _record("between", what, g, low=lo, high=hi)
    ok = not _isnan(_float(g)) and (lo is None or g >= lo) and (hi is None or g <= hi)
    bounds = ("at least " + f"{lo:g}" if hi is None else "at most " + f"{hi:g}" if lo is None
              else f"between {lo:g} and {hi:g}")
    if not ok:
        raise CheckFailed(f"{what} should be {bounds}, but it is {g:.4g}")
    _passed(f"{what} is {g:.4g}, {bounds} as required")


def expect(condition, what: str) -> None:
    """``condition`` must be exactly ``True`` (a bool, not merely truthy)."""
    _check_own_work()
    ok = canonical(condition, what) is True
    _record("true", what, ok)
    if not ok:
        raise CheckFailed(f"not the case for your answer: {what}")
    _passed(what)


# ----------------------------------------------------------------------------------------------
# the grader's judgement of one record


def judge(record, reference) -> str | None:
    """Compare a student's ``record`` with the reference solution's record of the same check.

    Returns None when the record earns the check, else a sentence saying why not. The kind, the
    description, the tolerances and the bounds are taken from ``reference``: a record can only
    contribute its ``got`` value. Used by the grader, outside the student's kernel.
    """
    if _type(record) is not dict or _type(reference) is not dict:
        return "the check's record is missing or damaged"
    kind, what = reference.get("kind"), reference.get("what")
    if record.get("kind") != kind or record.get("what") != what:
        return f"expected the check {_repr(what)} here, found {_repr(record.get('what'))}"
    got, ref = record.get("got"), reference.get("got")
    if kind == "equal":
        ok = _same(got, ref)
    elif kind == "close":
        ok = _close(got, ref, _float(reference.get("rtol", 0.0)), _float(reference.get("atol", 0.0)))
    elif kind == "between":
        lo, hi = reference.get("low"), reference.get("high")
        ok = (_is_number(got) and _type(got) is not bool and not _isnan(_float(got))
              and (lo is None or got >= lo) and (hi is None or got <= hi))
        if not ok:
            return f"{what}: {_show(got)} is outside the required range [{lo}, {hi}]"
        return None
    elif kind == "true":
        ok = got is True
        if not ok:
            return f"not the case for this answer: {what}"
        return None
    else:
        return f"unknown kind of check {_repr(kind)}"
    if not ok:
        return f"{what}: the reference solution gives {_show(ref)}, this answer gave {_show(got)}"
    return None


# ----------------------------------------------------------------------------------------------
# inputs for hidden tests


def random_labels(n: int, n_classes: int, seed: int, accuracy: float = 0.6):
    """``(y_true, y_pred)``: ``n`` random integer labels in ``[0, n_classes)`` and predictions that
    agree with them about ``accuracy`` of the time. Deterministic for a given seed."""
    import numpy as np

    rng = np.random.default_rng(int(seed))
    y = rng.integers(0, int(n_classes), size=int(n))
    noise = rng.integers(0, int(n_classes), size=int(n))
    keep = rng.random(int(n)) < float(accuracy)
    return y, np.where(keep, y, noise)
