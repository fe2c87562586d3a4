"""Grading processes (grader/worker.py) fed one submission at a time.

Each process grades one submission, replies, and takes the next. A process that dies, or takes
longer than ``limit`` seconds on one submission (it is then killed), loses only that submission:
it is reported as failed and a fresh process takes over the rest.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Outcome:
    student: str
    ok: bool
    seconds: float
    error: str | None = None


def _stopped(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class Pool:
    """``jobs`` grading processes started in ``course`` with ``args`` (worker.py's arguments)."""

    def __init__(self, course: Path, args: list, jobs: int, limit: float, logs: Path):
        self.course, self.args, self.jobs, self.limit, self.logs = Path(course), list(args), jobs, limit, Path(logs)
        self._procs: set = set()
        self._lock = threading.Lock()
        self._closing = False

    def _start(self, slot: int) -> subprocess.Popen:
        with self._lock, open(self.logs / f"worker-{slot}.log", "a") as log:
            if self._closing:
                raise RuntimeError("the run was stopped")
            proc = subprocess.Popen([sys.executable, "-m", "grader.worker", *self.args], cwd=self.course,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
            self._procs.add(proc)
        return proc

    def _stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        with self._lock:
            self._procs.discard(proc)

    def _drive(self, slot: int, todo: queue.Queue, done: queue.Queue) -> None:
        proc = None
        while not self._closing:
            try:
                student = todo.get_nowait()
            except queue.Empty:
                break
            try:
                outcome, proc = self._grade(slot, proc, student)
            except Exception as err:  # no process could be started, or it replied nonsense
                outcome = Outcome(student, False, 0.0, f"the grading process failed: {type(err).__name__}: {err}; "
                                                       f"its own log is worker-{slot}.log")
                if proc is not None:
                    self._stop(proc)
                proc = None
            done.put(outcome)
        if proc is not None:
            proc.stdin.close()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            self._stop(proc)

    def _grade(self, slot: int, proc, student: str) -> tuple:
        """Have ``proc`` (a new one if it is gone) grade ``student``; returns (outcome, process left)."""
        if proc is None or proc.poll() is not None:
            proc = self._start(slot)
        late = threading.Event()
        timer = threading.Timer(self.limit, lambda p=proc, e=late: (e.set(), p.kill()))
        timer.start()
        try:
            proc.stdin.write(student + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except OSError:
            line = ""
        finally:
            timer.cancel()
        if line and not late.is_set():
            reply = json.loads(line)
            if reply.get("student") != student or not isinstance(reply.get("ok"), bool):
                raise ValueError(f"the reply {line.strip()[:200]!r} is not about {student!r}")
            return Outcome(student, reply["ok"], float(reply.get("seconds", 0.0)), reply.get("error")), proc
        code = proc.wait()
        why = f"; it ran longer than {self.limit:.0f} s and was stopped" if late.is_set() else ""
        self._stop(proc)
        return Outcome(student, False, 0.0, f"the grading process stopped ({_stopped(code)}) while grading this "
                                            f"submission{why}; its own log is worker-{slot}.log"), None

    def run(self, students: list):
        """Grade ``students``; yields an :class:`Outcome` for each, in the order they finish."""
        todo, done = queue.Queue(), queue.Queue()
        for s in students:
            todo.put(s)
        threads = [threading.Thread(target=self._drive, args=(k, todo, done), daemon=True)
                   for k in range(min(self.jobs, len(students)))]
        for t in threads:
            t.start()
        try:
            for _ in students:
                yield done.get()
        finally:
            with self._lock:
                self._closing = True  # stopped early (Ctrl-C) or done: take nothing new
            while not todo.empty():
                try:
                    todo.get_nowait()
                except queue.Empty:
                    break
            with self._lock:
                procs = list(self._procs)
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
            for t in threads:
                t.join(timeout=60)


def cores() -> int:
    """The cores this process may use: its CPU affinity, or less under a container's CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            n = min(n, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return n
