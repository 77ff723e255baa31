"""The Polars engine every lazy query of the matching runs on."""

from __future__ import annotations

from typing import Final

ENGINE: Final = "in-memory"
"""Polars 2 runs lazy queries on its streaming engine by default, which costs about 0.3 ms
more to start each query (most of a query on a few thousand rows) and took about twice
the CPU on the sorts and joins of the features at a million rows."""
