"""The matching engine: block -> compare -> score -> assign -> decide, then 1:N and N:1.

Each stage is a pure function of Polars frames (see its module): `features` describes
each row (normalized text from `text`, reference tokens, twin classes), `blocking` forms
candidate pairs, `comparisons` and `scoring` explain and score them, `assignment` makes
them globally consistent, `decision` says auto / suggested / open with a reason, and
`grouping` finds one row equal to the sum of several (the exact sums in `subset_sums`;
`group_matches` runs it both ways on the rows 1:1 left). `pipeline.match` chains them,
running independent stages at once (`side_by_side`), every lazy query on one Polars
engine (`engine`), and returns a `result.MatchResult`, each match named by `match_id`.
Nothing here touches the store: `recon.matching` reads the open rows, runs the
pipeline and writes the result in one transaction.
"""

from recon.match.pipeline import match
from recon.match.result import MatchResult

__all__ = ["MatchResult", "match"]
