"""A one-line progress bar for scoring many images: done/total, images per second and the time left.

It has the ``add(n)`` of ``keras.utils.Progbar``, which the feature extractors call per batch, and it draws
on standard error (redrawn in place on a terminal, one line every ``every`` seconds otherwise)."""

from __future__ import annotations

import sys
import time


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """``Progress(total, label)``; then ``add(n)`` after each batch; the line ends when ``total`` is reached."""

    def __init__(self, total: int, label: str = "images", stream=None, every: float = 10.0, width: int = 24,
                 verbose: bool = True):
        self.total, self.label, self.width, self.every, self.verbose = int(total), label, width, every, verbose
        self.stream = stream if stream is not None else sys.stderr
        self.done, self.start, self.shown = 0, time.perf_counter(), 0.0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        filled = int(self.width * self.done / self.total) if self.total else self.width
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        tail = f"{clock(left)} left" if self.done < self.total and rate > 0 else f"{clock(elapsed)} total"
        return (f"{self.label} [{'=' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{rate:.2f} images/s {tail}")

    def add(self, n: int) -> None:
        self.done += int(n)
        if not self.verbose:
            return
        now = time.perf_counter()
        if self.tty:
            self.stream.write("\r" + self.line())
        elif now - self.shown >= self.every or self.done >= self.total:
            self.stream.write(self.line() + "\n")
            self.shown = now
        if self.done >= self.total and self.tty:
            self.stream.write("\n")
        self.stream.flush()
