"""nbgrader's Execute step, made safe for submissions that misbehave.

nbgrader stops grading a student (and leaves their old grades in the gradebook) when the kernel
dies (``os._exit``), cannot be interrupted (an answer that swallows KeyboardInterrupt) or the run
fails in another way. :class:`GuardedExecute` instead finishes the notebook: the cell that broke the
kernel gets an error, every later test cell gets a "not run" error (so it earns nothing), and
grading goes on with the next student. It also starts kernels in the sandbox, caps the output each
cell may produce, and caps the wall time of the whole notebook.
"""
from __future__ import annotations

import time

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

from . import compat
from .sandbox import SandboxKernelManager

compat.check()  # the private methods overridden below are still there

NOTE = "[the grader cut this cell's output here: it exceeded {limit:,} characters]\n"


class NotebookTimeout(Exception):
    pass


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _size(out: NotebookNode) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    total = 0
    for value in (out.get("data") or {}).values():
        total += len(value) if isinstance(value, str) else sum(len(v) for v in value) if isinstance(value, list) else 64
    for line in out.get("traceback") or []:
        total += len(line)
    return total + 64


class GuardedExecute(Execute):
    """Execute a submission in the sandbox; never give up on the notebook, never hang."""

    max_output_chars = Integer(200_000, help="output characters kept per cell; the rest is dropped").tag(config=True)
    notebook_timeout = Integer(600, help="seconds the whole notebook may run").tag(config=True)
    # after a timeout, how long to wait for the interrupted cell to report back before the kernel is
    # declared unresponsive and stopped
    iopub_timeout = Integer(10).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.notebook_timeout
        self._current = None
        self._chars = {}
        self.raise_on_iopub_timeout = True  # an interrupt that does not stop the cell ends the run
        try:
            return super().preprocess(nb, resources, km=km)
        except (DeadKernelError, CellTimeoutError, NotebookTimeout, TimeoutError, RuntimeError) as err:
            if self._current is None:  # the kernel never started: a problem of the machine, not the student
                raise
            self._give_up(nb, err)
            return nb, resources

    def _give_up(self, nb, err) -> None:
        if isinstance(err, DeadKernelError):
            why = "the kernel died (the code exited or was killed for exceeding a limit)"
        elif isinstance(err, NotebookTimeout) or (isinstance(err, CellTimeoutError)
                                                  and time.monotonic() >= self._deadline):
            # a cell's timeout is cut to what is left of the notebook's: then the notebook ran out
            why = f"the notebook ran longer than {self.notebook_timeout} s"
        elif isinstance(err, CellTimeoutError):
            why = f"a cell ran longer than {self.timeout} s and could not be interrupted"
        else:
            why = f"the run failed: {err}"
        self.log.warning("Stopping this notebook: %s", why)
        start = self._current if self._current is not None else 0
        for index, cell in enumerate(nb.cells):
            if index < start or cell.cell_type != "code":
                continue
            if index == start:
                cell.setdefault("outputs", []).append(_error("GradingStopped", why))
            elif cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                cell["outputs"] = [_error("NotRun", f"this cell did not run because {why}")]

    def _timeout_for(self, cell):
        return max(1, min(self.timeout, int(self._deadline - time.monotonic()) + 1))

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if time.monotonic() > self._deadline:
            raise NotebookTimeout()
        self._current = cell_index
        self.timeout_func = self._timeout_for
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the synchronous name to its own method

    def output(self, outs, msg, display_id, cell_index):
        used = self._chars.get(cell_index, 0)
        if used > self.max_output_chars:
            return None
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None:
            used += _size(out)
            self._chars[cell_index] = used
            if used > self.max_output_chars:
                if outs and outs[-1] is out:
                    outs.pop()
                outs.append(NotebookNode(output_type="stream", name="stdout",
                                         text=NOTE.format(limit=self.max_output_chars)))
                self._chars[cell_index] = used + 1
        return out
