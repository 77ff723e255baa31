"""Row positions (`b_idx`, `l_idx`: small non-negative integers) tested for membership by a lookup table.

The stages ask "is this row one of those?" of thousands to millions of rows; with row positions
a boolean table indexed by position answers it without hashing or sorting.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["among"]


def among(positions: npt.ArrayLike, members: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each of `positions` is one of `members` (both arrays of row positions)."""
    rows, member_rows = np.asarray(positions), np.asarray(members)
    table = np.zeros(int(max(rows.max(initial=0), member_rows.max(initial=0))) + 1, dtype=np.bool_)
    table[member_rows] = True
    return table[rows]
