"""The one peak-memory and CPU helper every benchmark uses.

`PeakMemory` samples the resident memory (RSS, which includes DuckDB's buffers) of a
process and, by default, all of its children on a background thread; `.peak_mb` is the
highest total it saw. Sampling, not `ru_maxrss`, because `ru_maxrss` is the high-water mark
of the whole process lifetime: a benchmark that runs two engines one after the other would
otherwise report the first engine's peak for the second.
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading

import psutil


class PeakMemory:
    """Context manager: the peak RSS of process `pid` (default: this one) and its children."""

    def __init__(
        self, pid: int | None = None, include_children: bool = True, interval: float = 0.05
    ) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.include_children = include_children
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        """RSS in bytes of the process (tree) right now; 0 once it has gone."""
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)] if self.include_children else [root]
        except psutil.Error:
            return 0
        total = 0
        for process in tree:
            # a child that ended between listing and reading counts as 0
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.sample())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakMemory:
        self.peak = self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.sample())

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)


def cpu_seconds(children: bool = False) -> float:
    """User + system CPU seconds of this process (or of its finished children).

    On a shared machine wall time depends on the neighbours; CPU time tells cost apart from
    waiting: on 2 cores, wall time near CPU time / 2 means both cores were used.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
