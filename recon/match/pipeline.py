"""The pipeline: open bank and ledger rows in, matches, links and open items out.

block -> compare -> score -> assign -> decide for 1:1, then 1:N and N:1 on the rows
left, then reason codes for what stays open. Pure: frames in, frames out.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl

from recon.config import MatchingSettings
from recon.match import assignment, blocking, comparisons, decision, features, scoring
from recon.match.engine import ENGINE
from recon.match.group_matches import match_groups
from recon.match.positions import among
from recon.match.result import LINK_SCHEMA, MATCH_SCHEMA, OPEN_SCHEMA, MatchResult, pair_match_ids
from recon.match.side_by_side import side_by_side

ACCOUNTS_AT_ONCE = 2
"""Accounts matched side by side. Much of a run is numpy or Python on one core; a second
account keeps the other core busy. Smaller frames than one run over all accounts also
mean less fresh memory: at a million rows, 10.9 -> 8.6 s (13 s in one run), same result."""
ROWS_WORTH_SPLITTING = 300_000
"""Below this many rows (both sides) one run over all accounts is quicker: each run has fixed costs."""
OUTSIDE_WINDOW_PROBE_DAYS = 45
"""An open row with a same-amount row this close, but outside the window, is `outside_date_window`."""


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
    ids = pair_match_ids(txn_id, entry_id)
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

    bank_left = bank.filter(pl.Series(~among(bank["b_idx"], decided["b_idx"])))
    ledger_left = ledger.filter(pl.Series(~among(ledger["l_idx"], decided["l_idx"])))
    group_matches, group_links, bank_open, ledger_open = match_groups(
        bank_left,
        ledger_left,
        settings=settings,
        rejected_ids=rejected_match_ids,
        bank_contested=among(bank_left["b_idx"], contested["b_idx"]),
        ledger_contested=among(ledger_left["l_idx"], contested["l_idx"]),
    )
    matches = pl.concat([matches, group_matches]).sort("match_id")
    links = pl.concat([links, group_links]).sort("match_id", "bank_txn_id", "ledger_entry_id")

    open_items = pl.concat(
        side_by_side(
            lambda: _open_items(bank_open, ledger_open, all_scored, rejected_idx, side="bank", settings=settings),
            lambda: _open_items(ledger_open, bank_open, all_scored, rejected_idx, side="ledger", settings=settings),
        )
    )
    return MatchResult(matches, links, open_items.sort("side", "row_id"), all_scored.height)


def _open_items(
    rows: pl.DataFrame,
    others: pl.DataFrame,
    pairs: pl.DataFrame,
    rejected: pl.DataFrame,
    *,
    side: str,
    settings: MatchingSettings,
) -> pl.DataFrame:
    idx, row_id, other_idx = ("b_idx", "txn_id", "l_idx") if side == "bank" else ("l_idx", "entry_id", "b_idx")
    elsewhere = blocking.same_amount_elsewhere(rows, others, idx, days=OUTSIDE_WINDOW_PROBE_DAYS)
    # a pairing a person rejected with a row that is still open
    rejected_rows = rejected.filter(pl.col(other_idx).is_in(others[other_idx].implode()))[idx]
    reasons = decision.open_reasons(
        rows, idx, pairs, rows.clear(), same_amount_elsewhere=elsewhere, settings=settings, rejected=rejected_rows
    )
    return reasons.select(pl.lit(side).alias("side"), pl.col(row_id).alias("row_id"), "account_id", "reason").cast(
        OPEN_SCHEMA  # type: ignore[arg-type]
    )
