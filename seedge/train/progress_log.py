"""Training's progress on stderr: one line per event, and a progress bar (or, in a log file,
a line now and then) while an epoch or the image decoding runs."""

from __future__ import annotations

import time


class TrainLog:
    """stderr output of rank 0: one line per event and, inside a phase (an epoch, decoding), a
    transient rich progress bar with ETA on a terminal or, in a log file, a progress line every
    `every_s` seconds (a 150 s epoch on two cores is not silent)."""

    every_s = 15.0

    def __init__(self, console=None, enabled: bool = True):
        from rich.console import Console

        self.enabled = enabled
        self.console = console or Console(stderr=True, highlight=False)

    def line(self, text: str) -> None:
        if self.enabled:
            self.console.print(text, markup=False, soft_wrap=True)

    def bar(self, description: str, total: int):
        from contextlib import contextmanager

        @contextmanager
        def ctx():
            if not self.enabled:
                yield lambda **_: None
                return
            if not self.console.is_terminal:  # no bar in logs: a line now and then
                yield self._timed_lines(description, total)
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=self.console,
                transient=True,
            ) as p:
                task = p.add_task(description, total=total, status="")

                def advance(loss: float | None = None) -> None:
                    p.update(task, advance=1, status=f"loss {loss:.4f}" if loss is not None else "")

                yield advance

        return ctx()

    def _timed_lines(self, description: str, total: int):
        start = last = time.perf_counter()
        done = 0

        def advance(loss: float | None = None) -> None:
            nonlocal done, last
            done += 1
            now = time.perf_counter()
            if now - last < self.every_s or done >= total:
                return
            last = now
            left = (now - start) / done * (total - done)
            self.line(
                f"  {description}: {done}/{total}{f', loss {loss:.4f}' if loss is not None else ''}, "
                f"{_duration(now - start)} elapsed, ~{_duration(left)} left"
            )

        return advance

    def run_with_bar(self, description: str, total: int, fn) -> None:
        with self.bar(description, total) as advance:
            fn(lambda i: advance())


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
