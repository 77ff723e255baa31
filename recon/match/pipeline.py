"""The pipeline: open bank and ledger rows in, matches, links and open items out.

block -> compare -> score -> assign -> decide for 1:1, then 1:N and N:1 on the rows
left, then reason codes for what stays open. Pure: frames in, frames out.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from recon.config import MatchingSettings
from recon.match import assignment, blocking, comparisons, decision, features, grouping, scoring
from recon.match.engine import ENGINE
from recon.match.side_by_side import side_by_side

MATCH_SCHEMA = {
    "match_id": pl.String, "account_id": pl.String, "status": pl.String, "kind": pl.String,
    "score": pl.Float64, "reasons": pl.String,
}  # fmt: skip
LINK_SCHEMA = {
    "match_id": pl.String, "bank_txn_id": pl.String, "ledger_entry_id": pl.String,
    "amount_diff_minor": pl.Int64, "date_diff_days": pl.Int32,
}  # fmt: skip
OPEN_SCHEMA = {"side": pl.String, "row_id": pl.String, "account_id": pl.String, "reason": pl.String}
ACCOUNTS_AT_ONCE = 2
"""Accounts matched side by side. Much of a run is numpy or Python on one core; a second
account keeps the other core busy. Smaller frames than one run over all accounts also
mean less fresh memory: at a million rows, 10.9 -> 8.6 s (13 s in one run), same result."""
ROWS_WORTH_SPLITTING = 300_000
"""Below this many rows (both sides) one run over all accounts is quicker: each run has fixed costs."""
OUTSIDE_WINDOW_PROBE_DAYS = 45
"""An open row with a same-amount row this close, but outside the window, is `outside_date_window`."""


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What one match run proposes.

    Attributes:
      matches: one row per match (MATCH_SCHEMA); status auto or suggested.
      links: one row per (bank row, ledger row) link of a match (LINK_SCHEMA).
      open_items: rows left unmatched, with a reason code (OPEN_SCHEMA).
      candidate_pairs: how many pairs blocking produced, for the run log.
    """

    matches: pl.DataFrame
    links: pl.DataFrame
    open_items: pl.DataFrame
    candidate_pairs: int


def match_id(bank_ids: list[str], ledger_ids: list[str]) -> str:
    """Stable id of a match: the same rows linked again give the same id."""
    text = "|".join(sorted(bank_ids)) + "#" + "|".join(sorted(ledger_ids))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _pair_match_ids(bank_ids: pl.Series, ledger_ids: pl.Series) -> pl.Series:
    """`match_id([b], [e])` of each aligned pair, without the sorting and joining of one-element lists."""
    texts = (bank_ids + "#" + ledger_ids).cast(pl.Binary).to_list()
    return pl.Series("match_id", [hashlib.sha256(text).hexdigest()[:20] for text in texts], dtype=pl.String)


def _rejected_indexes(rejected: pl.DataFrame | None, bank: pl.DataFrame, ledger: pl.DataFrame) -> pl.DataFrame:
    if rejected is None or rejected.is_empty():
        return pl.DataFrame(schema={"b_idx": pl.UInt32, "l_idx": pl.UInt32})
    return rejected.join(bank.select("b_idx", pl.col("txn_id").alias("bank_txn_id")), on="bank_txn_id").join(
        ledger.select("l_idx", pl.col("entry_id").alias("ledger_entry_id")), on="ledger_entry_id"
    )


def score_pairs(
    bank: pl.DataFrame, ledger: pl.DataFrame, *, settings: MatchingSettings, rejected: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Blocked, compared and scored candidate pairs: (all of them, narrow: b_idx, l_idx, score and
    amount_diff_minor, for the open rows' reasons; those with enough evidence, with the signals
    the assignment, decision and reasons read).

    The rows' own attributes (currency, twin classes) are not on the pairs yet: of millions
    of candidates only the strongest need them (`with_row_attributes`).
    """
    bank_tokens, ledger_tokens = pl.collect_all(
        [
            blocking.distinctive_tokens(features.exploded_tokens(bank, "b_idx"), settings=settings),
            blocking.distinctive_tokens(features.exploded_tokens(ledger, "l_idx"), settings=settings),
        ],
        engine=ENGINE,
    )
    pairs = blocking.candidate_pairs(
        bank, ledger, bank_tokens=bank_tokens, ledger_tokens=ledger_tokens, settings=settings, rejected=rejected
    )
    compared = comparisons.compare(pairs, bank, ledger, bank_tokens=bank_tokens, ledger_tokens=ledger_tokens)
    # b_idx and l_idx are row numbers: a gather, not a join
    l_amount = pl.lit(ledger["amount_minor"]).gather(pl.col("l_idx")).alias("l_amount")
    scored = scoring.score(compared.with_columns(l_amount), settings=settings).collect(engine=ENGINE)
    evidence = (
        (pl.col("tier") != blocking.TOLERANCE)
        | pl.col("reference_match")
        | (pl.col("description_score") >= settings.tolerance_min_description)
    )
    # what the assignment, the decision and the reasons read: the tiers and scoring inputs stay behind
    signals = ["date_diff_days", "amount_diff_minor", "description_score", "reference_match", "reference_conflict"]
    with_evidence = scored.lazy().filter(evidence).select("b_idx", "l_idx", *signals, "shared_reference", "score")
    return scored.select("b_idx", "l_idx", "score", "amount_diff_minor"), with_evidence.collect(engine=ENGINE)


def with_row_attributes(pairs: pl.DataFrame, bank: pl.DataFrame, ledger: pl.DataFrame) -> pl.DataFrame:
    """Add the bank row's `currency` and both rows' twin classes (`b_twin`, `l_twin`) to pairs."""
    bank_row, ledger_row = pairs["b_idx"].to_numpy(), pairs["l_idx"].to_numpy()
    return pairs.hstack([
        bank["currency"][bank_row], bank["twin_class"][bank_row].alias("b_twin"),
        ledger["twin_class"][ledger_row].alias("l_twin"),
    ])  # fmt: skip


def _one_to_one(bank: pl.DataFrame, ledger: pl.DataFrame, decided: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    # b_idx and l_idx are row positions (see features): gathering by them is a join without the hashing
    bank_row, ledger_row = decided["b_idx"].to_numpy(), decided["l_idx"].to_numpy()
    txn_id = bank["txn_id"][bank_row].alias("bank_txn_id")
    entry_id = ledger["entry_id"][ledger_row].alias("ledger_entry_id")
    ids = _pair_match_ids(txn_id, entry_id)
    kind = pl.Series("kind", ["1:1"], dtype=pl.String).new_from_index(0, decided.height)
    # frames of the columns as they are (the schemas cast): no query for a few renames
    matches = pl.DataFrame(
        [ids, bank["account_id"][bank_row], decided["status"], kind, decided["score"], decided["reasons"]],
        schema=MATCH_SCHEMA,
    )
    links = pl.DataFrame(
        [ids, txn_id, entry_id, decided["amount_diff_minor"], decided["date_diff_days"]], schema=LINK_SCHEMA
    )
    return matches, links


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


def _flagged(positions: pl.Series, flagged: pl.Series) -> npt.NDArray[np.bool_]:
    """Whether each of `positions` is one of `flagged` (row positions: a lookup table, no hashing)."""
    rows, flagged_rows = positions.to_numpy(), flagged.to_numpy()
    table = np.zeros(max(rows.max(initial=0), flagged_rows.max(initial=0)) + 1, dtype=np.bool_)
    table[flagged_rows] = True
    return table[rows]


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


def _groups(
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    settings: MatchingSettings,
    rejected_ids: frozenset[str],
    contested: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """1:N (one bank row, several ledger rows), then N:1, on the given open rows:
    (matches, links, the bank rows left open, the ledger rows left open).

    `contested` pairs (b_idx, l_idx) are 1:1 candidates at the exact amount: their rows
    are not searched as the sum of others (see `grouping.find_groups`).
    """
    all_matches, all_links = [pl.DataFrame(schema=MATCH_SCHEMA)], [pl.DataFrame(schema=LINK_SCHEMA)]
    ledger_text = pl.concat_str(pl.col("norm_counterparty"), pl.col("norm_description"), separator=" ")
    bank_contested = _flagged(bank["b_idx"], contested["b_idx"])
    sides = {
        "bank": _group_side(bank, pl.col("norm_description"), pl.col("norm_description"), bank_contested),
        "ledger": _group_side(
            ledger, ledger_text, pl.col("norm_counterparty"), _flagged(ledger["l_idx"], contested["l_idx"])
        ),
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


def match(
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    settings: MatchingSettings,
    rejected: pl.DataFrame | None = None,
    rejected_match_ids: frozenset[str] = frozenset(),
) -> MatchResult:
    """Match open bank rows against open ledger rows.

    `rejected` holds (bank_txn_id, ledger_entry_id) pairs a person rejected: they are
    never proposed again; `rejected_match_ids` are rejected matches of several rows,
    never proposed again as the same group.

    No candidate pair, component or group ever spans two accounts, so in a large run each
    account is matched on its own (`ACCOUNTS_AT_ONCE` at a time): the same result as one
    run over all of them (ties still break by the rows' order, which a split keeps).
    """
    accounts = pl.concat([bank.select("account_id"), ledger.select("account_id")]).unique().sort("account_id")

    def of_account(account: str) -> MatchResult:
        return _match_account(
            bank.filter(pl.col("account_id") == account),
            ledger.filter(pl.col("account_id") == account),
            settings=settings,
            rejected=rejected,
            rejected_match_ids=rejected_match_ids,
        )

    if accounts.height < 2 or bank.height + ledger.height < ROWS_WORTH_SPLITTING:
        return _match_account(bank, ledger, settings=settings, rejected=rejected, rejected_match_ids=rejected_match_ids)
    with ThreadPoolExecutor(max_workers=ACCOUNTS_AT_ONCE) as pool:
        results = list(pool.map(of_account, accounts["account_id"].to_list()))
    return MatchResult(
        pl.concat([result.matches for result in results]).sort("match_id"),
        pl.concat([result.links for result in results]).sort("match_id", "bank_txn_id", "ledger_entry_id"),
        pl.concat([result.open_items for result in results]).sort("side", "row_id"),
        sum(result.candidate_pairs for result in results),
    )


def _match_account(
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    settings: MatchingSettings,
    rejected: pl.DataFrame | None,
    rejected_match_ids: frozenset[str],
) -> MatchResult:
    """`match` on the rows of one account (or of several: the result is the same)."""
    bank, ledger = side_by_side(lambda: features.bank_features(bank), lambda: features.ledger_features(ledger))
    rejected_idx = _rejected_indexes(rejected, bank, ledger)

    all_scored, scored = score_pairs(bank, ledger, settings=settings, rejected=rejected_idx)
    strongest, lost_rivals = assignment.strongest_candidates(scored)
    del scored  # millions of wide rows: let them go before the assignment builds its own
    strongest = with_row_attributes(strongest, bank, ledger)
    worth_assigning = strongest.filter(pl.col("score") >= settings.suggest_threshold)
    contested = worth_assigning.filter(pl.col("amount_diff_minor") == 0).select("b_idx", "l_idx")
    assigned = scoring.explain(assignment.assign_one_to_one(worth_assigning))
    del worth_assigning
    decided = decision.decide(assigned, strongest, settings=settings, lost_rivals=lost_rivals).filter(
        pl.col("status").is_not_null()
    )
    del strongest
    matches, links = _one_to_one(bank, ledger, decided)

    bank_left = bank.filter(pl.Series(~_flagged(bank["b_idx"], decided["b_idx"])))
    ledger_left = ledger.filter(pl.Series(~_flagged(ledger["l_idx"], decided["l_idx"])))
    group_matches, group_links, bank_open, ledger_open = _groups(
        bank_left, ledger_left, settings=settings, rejected_ids=rejected_match_ids, contested=contested
    )
    matches = pl.concat([matches, group_matches]).sort("match_id")
    links = pl.concat([links, group_links]).sort("match_id", "bank_txn_id", "ledger_entry_id")

    open_items = pl.concat(
        side_by_side(
            lambda: _open_items(bank_open, ledger_open, all_scored, side="bank", settings=settings),
            lambda: _open_items(ledger_open, bank_open, all_scored, side="ledger", settings=settings),
        )
    )
    return MatchResult(matches, links, open_items.sort("side", "row_id"), all_scored.height)


def _open_items(
    rows: pl.DataFrame, others: pl.DataFrame, pairs: pl.DataFrame, *, side: str, settings: MatchingSettings
) -> pl.DataFrame:
    idx, row_id = ("b_idx", "txn_id") if side == "bank" else ("l_idx", "entry_id")
    elsewhere = blocking.same_amount_elsewhere(rows, others, idx, days=OUTSIDE_WINDOW_PROBE_DAYS)
    reasons = decision.open_reasons(rows, idx, pairs, rows.clear(), same_amount_elsewhere=elsewhere, settings=settings)
    return reasons.select(pl.lit(side).alias("side"), pl.col(row_id).alias("row_id"), "account_id", "reason").cast(
        OPEN_SCHEMA  # type: ignore[arg-type]
    )
