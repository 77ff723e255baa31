"""Two independent pieces of the matching at once.

Polars, numpy, scipy and rapidfuzz do their work outside the GIL, so two stages that do
not read each other's output (the bank and the ledger features, the two comparisons of
the pairs, the reasons of each side's open rows) keep both cores busy. On a few thousand
rows each stage is a few milliseconds of mostly single-threaded work, and this is what
keeps a small nightly run short.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")

_WORKER_NAME = "recon-side-by-side"
_WORKER = ThreadPoolExecutor(max_workers=2, thread_name_prefix=_WORKER_NAME)
"""Shared and started once: a pool per call would start a thread per call."""


def side_by_side(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """`(first(), second())`, the first on a worker thread while the second runs here.

    Called from one of the workers (a stage inside a stage), both run here, one after the
    other: a worker waiting for a job that needs a free worker could wait forever."""
    if threading.current_thread().name.startswith(_WORKER_NAME):
        return first(), second()
    job = _WORKER.submit(first)
    try:
        second_result = second()
    except BaseException:
        job.cancel()
        raise
    return job.result(), second_result
