"""Progress of a grading run: submissions done of the total, failures so far, time left.

On a terminal it is one bar (tqdm) that updates in place; in a log file (a scheduler's job, CI)
it is one line per finished submission.
"""
from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    def __init__(self, total: int, label: str, stream=None):
        self.total, self.label, self.done, self.failed = total, label, 0, 0
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.bar = None
        if getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="submission", file=self.stream, dynamic_ncols=True)
            self.bar.set_postfix(failed=0)

    def left(self) -> float | None:
        """Seconds left at the pace so far (None before the first submission is done)."""
        if not self.done:
            return None
        return (time.perf_counter() - self.start) / self.done * (self.total - self.done)

    def update(self, student: str, ok: bool, seconds: float) -> None:
        self.done += 1
        self.failed += not ok
        if self.bar is not None:
            self.bar.set_postfix(failed=self.failed)
            self.bar.update(1)
            return
        left = self.left()
        print(f"[{self.done}/{self.total}] {student}: {'graded' if ok else 'FAILED'} in {seconds:.1f} s; "
              f"{self.failed} failed so far; about {_clock(left)} left", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
