"""The student's own work: while a test cell runs, the course's implementation of what the part asks
for (and routines the part forbids) cannot be called (used by :mod:`labkit.checks`).

``checks.own_work("labkit.calibration.ece", ...)`` is the first line of such a test cell. For the rest
of the cell, a call of a named routine raises :class:`OwnWorkRequired`, however the answer reached it
(imported under another name, wrapped, called by a helper, its code object copied): the calls are
followed with ``sys.setprofile``. Every later check of the cell then fails too, so catching the error
does not help, and a check finds the guard switched off if the answer replaced the profile function.
"""
from __future__ import annotations

import builtins as _builtins
import importlib as _importlib
import inspect as _inspect
import sys as _sys

_isinstance, _type = _builtins.isinstance, _builtins.type


class OwnWorkRequired(AssertionError):
    """The answer used the course's own implementation (or a forbidden routine) where the part asks
    for the student's."""




class _Guard:
    """The routines forbidden for the rest of one test cell, and whether one was called."""

    def __init__(self, names):
        self.names = tuple(names)
        self.codes, self.objects = {}, {}
        for name in self.names:
            for obj in _callables(_resolve(name)):
                self.objects[id(obj)] = name
                code = getattr(_inspect.unwrap(obj), "__code__", None)
                if code is not None:
                    self.codes[code] = name
        self.violation = None

    def profile(self, frame, event, arg):
        name = None
        if event == "call":
            name = self.codes.get(frame.f_code)
        elif event == "c_call":
            name = self.objects.get(id(arg))
        if name is not None and self.violation is None:
            self.violation = name
        if self.violation is not None:
            raise self.error()

    def error(self) -> OwnWorkRequired:
        return OwnWorkRequired(
            f"this part asks for your own implementation, but your answer called `{self.violation}` while its "
            f"test ran (not allowed in this part: {', '.join(f'`{n}`' for n in self.names)}). Write the "
            "computation yourself; the lectures and the other parts may use labkit as before.")


_guard = None


def _resolve(name: str):
    """The object a dotted name such as ``labkit.calibration.ece`` or ``numpy.linalg.pinv`` names."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = _importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            break
        return obj
    raise ValueError(f"own_work: {name!r} names nothing importable")


def _callables(obj):
    """``obj`` and, for a class, every function defined in it."""
    found = [obj]
    if _isinstance(obj, _type):
        for value in vars(obj).values():
            value = getattr(value, "__func__", value)  # staticmethod, classmethod
            value = getattr(value, "fget", value)  # property
            if callable(value):
                found.append(value)
    return found


def end(*_args) -> None:
    global _guard
    if _guard is not None and _sys.getprofile() == _guard.profile:
        _sys.setprofile(None)
    _guard = None


def check() -> None:
    """Raise if the running test cell's guard caught a forbidden call or was switched off."""
    if _guard is None:
        return
    if _guard.violation is not None:
        raise _guard.error()
    if _sys.getprofile() != _guard.profile:
        raise OwnWorkRequired("the check of this test cell on your own implementation was switched off "
                              "(sys.setprofile was changed): this test cell cannot be passed that way")


def own_work(*forbidden: str) -> None:
    """For the rest of the running cell, calling any of ``forbidden`` raises :class:`OwnWorkRequired`.

    ``forbidden`` are dotted names (``"labkit.calibration.ece"``, ``"numpy.linalg.pinv"``); a class
    stands for all its methods. The first line of a test cell whose part asks the student to write
    something the course's library (or numpy) already has: an answer that only calls the library's
    version then fails that part, and says why. The guard ends when the cell ends (in IPython), or
    at the next ``own_work()`` call (with no names, it only ends the previous one).
    """
    global _guard
    end()
    if not forbidden:
        return
    _guard = _Guard(forbidden)
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    ip = get_ipython() if get_ipython is not None else None
    if ip is not None and end not in ip.events.callbacks.get("post_run_cell", []):
        ip.events.register("post_run_cell", end)
    _sys.setprofile(_guard.profile)


