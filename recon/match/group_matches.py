"""1:N, then N:1, on the rows the 1:1 stage left open: the rows as `grouping.find_groups`
wants them in, the groups it finds out as matches and links.

A group a person rejected (by its match id) is never proposed again; the rows of a
group found are no longer open for the next direction's search.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from recon.config import MatchingSettings
from recon.match import grouping
from recon.match.engine import ENGINE
from recon.match.result import LINK_SCHEMA, MATCH_SCHEMA, match_id


def _group_side(
    frame: pl.DataFrame, text: pl.Expr, alt_text: pl.Expr, contested: npt.NDArray[np.bool_]
) -> pl.DataFrame:
    """The rows as `grouping.find_groups` wants them (`contested` flags the contested rows), and `row`,
    each row's position in `frame`."""
    position = pl.int_range(pl.len(), dtype=pl.UInt32)
    return frame.select(
        position.alias("idx"), position.alias("row"), "account_id", "currency", "amount_minor", "posted_date",
        text.alias("text"), alt_text.alias("alt_text"), "tokens", pl.Series("contested", contested),
    )  # fmt: skip


def _still_open(side: pl.DataFrame, is_open: npt.NDArray[np.bool_]) -> pl.DataFrame:
    """The rows of a `_group_side` still open, numbered again from 0."""
    if is_open.all():
        return side
    renumbered = pl.int_range(pl.len(), dtype=pl.UInt32).alias("idx")
    return side.lazy().filter(pl.Series(is_open)).with_columns(renumbered).collect(engine=ENGINE)


def _group_links(
    found: pl.DataFrame,
    targets: pl.DataFrame,
    parts: pl.DataFrame,
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    kind: str,
    rejected_ids: frozenset[str],
) -> tuple[pl.DataFrame, pl.DataFrame, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The matches and links of the groups `find_groups` found, but for rejected ones, and the
    positions of the bank and ledger rows they link."""
    target_is_bank = kind == "1:N"
    sizes = found["parts"].list.len().to_numpy()
    group = np.repeat(np.arange(found.height), sizes)  # of each (target, part) link
    target_row = targets["row"].to_numpy()[found["target"].to_numpy()][group]
    part_row = parts["row"].to_numpy()[found["parts"].explode().to_numpy()]
    b_row, l_row = (target_row, part_row) if target_is_bank else (part_row, target_row)
    bank_ids, ledger_ids = bank["txn_id"].gather(b_row).to_list(), ledger["entry_id"].gather(l_row).to_list()
    ends = np.cumsum(sizes).tolist()
    # each id once: a target's id is on every link of its group
    ids = [match_id(list(set(bank_ids[start:end])), list(set(ledger_ids[start:end])))
           for start, end in zip([0, *ends[:-1]], ends, strict=True)]  # fmt: skip
    kept = np.array([found_id not in rejected_ids for found_id in ids], dtype=np.bool_)
    matches = (
        found.lazy()
        .select(
            pl.Series("match_id", ids, dtype=pl.String),
            pl.lit(targets["account_id"]).gather(pl.col("target")).alias("account_id"),
            "status",
            pl.lit(kind).alias("kind"),
            "score",
            "reasons",
        )
        .filter(pl.Series(kept))
    )
    linked = kept[group]
    links = pl.LazyFrame({"group": group[linked], "b_row": b_row[linked], "l_row": l_row[linked]}).select(
        pl.lit(pl.Series(ids, dtype=pl.String)).gather(pl.col("group")).alias("match_id"),
        pl.lit(bank["txn_id"]).gather(pl.col("b_row")).alias("bank_txn_id"),
        pl.lit(ledger["entry_id"]).gather(pl.col("l_row")).alias("ledger_entry_id"),
        pl.lit(0).alias("amount_diff_minor"),
        (pl.lit(bank["posted_date"]).gather(pl.col("b_row")) - pl.lit(ledger["posted_date"]).gather(pl.col("l_row")))
        .dt.total_days()
        .alias("date_diff_days"),
    )
    found_matches, found_links = pl.collect_all(
        [matches.cast(pl.Schema(MATCH_SCHEMA)), links.cast(pl.Schema(LINK_SCHEMA))], engine=ENGINE
    )
    return found_matches, found_links, b_row[linked], l_row[linked]


def match_groups(
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    settings: MatchingSettings,
    rejected_ids: frozenset[str],
    bank_contested: npt.NDArray[np.bool_],
    ledger_contested: npt.NDArray[np.bool_],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """1:N (one bank row, several ledger rows), then N:1, on the given open rows:
    (matches, links, the bank rows left open, the ledger rows left open).

    A contested row (True in `bank_contested` / `ledger_contested`, one per row) has a 1:1
    candidate at its exact amount: it is not searched as the sum of others (see
    `grouping.find_groups`).
    """
    all_matches, all_links = [pl.DataFrame(schema=MATCH_SCHEMA)], [pl.DataFrame(schema=LINK_SCHEMA)]
    ledger_text = pl.concat_str(pl.col("norm_counterparty"), pl.col("norm_description"), separator=" ")
    sides = {
        "bank": _group_side(bank, pl.col("norm_description"), pl.col("norm_description"), bank_contested),
        "ledger": _group_side(ledger, ledger_text, pl.col("norm_counterparty"), ledger_contested),
    }
    is_open = {"bank": np.ones(bank.height, dtype=np.bool_), "ledger": np.ones(ledger.height, dtype=np.bool_)}
    for kind, target_side, part_side in (("1:N", "bank", "ledger"), ("N:1", "ledger", "bank")):
        targets = _still_open(sides[target_side], is_open[target_side])
        parts = _still_open(sides[part_side], is_open[part_side])
        # instalments (N:1) must name what they pay: at a year of four busy accounts the open bank
        # rows around a ledger entry hold thousands of subsets, and some sum to it by chance
        found = grouping.find_groups(
            targets, parts, target_is_bank=kind == "1:N", settings=settings, parts_need_reference=kind == "N:1"
        )
        if found.is_empty():
            continue
        matches, links, b_row, l_row = _group_links(
            found, targets, parts, bank, ledger, kind=kind, rejected_ids=rejected_ids
        )
        all_matches.append(matches)
        all_links.append(links)
        is_open["bank"][b_row], is_open["ledger"][l_row] = False, False
    return (
        pl.concat(all_matches),
        pl.concat(all_links),
        bank.filter(pl.Series(is_open["bank"])),
        ledger.filter(pl.Series(is_open["ledger"])),
    )
