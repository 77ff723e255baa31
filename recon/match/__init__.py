"""The matching engine: block -> compare -> score -> assign -> decide.

Each stage is a pure function of Polars frames (see its module); `pipeline.match`
chains them. Nothing here touches the store: `recon.matching` reads the open rows,
runs the pipeline and writes the result in one transaction.
"""

from recon.match.pipeline import MatchResult, match

__all__ = ["MatchResult", "match"]
