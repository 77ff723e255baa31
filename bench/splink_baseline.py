"""Splink (DuckDB backend) as a matching baseline: a probabilistic record-linkage model, trained unsupervised.

The configuration a record-linkage practitioner would give a bank <-> ledger link:

- features, each side on its own: `description` lower-cased, letters only, each word once, without the words
  found on more than `BOILERPLATE_SHARE` of that side's rows (ACH, CREDIT, POS, DEBIT, "payment received"...),
  and its `words`; `reference` = the ledger's reference field, on the bank side the check number or else the
  first invoice-like token (`INV-100123`) or 8+-digit number of the text, lower-cased, alphanumerics only;
- `link_only` between the two tables; blocking rules: same account and amount, dates at most
  `AMOUNT_WINDOW_DAYS` apart; or same account and reference, at most `REFERENCE_WINDOW_DAYS` apart (the
  windows of recon's defaults);
- comparisons: amount (exact, with a term-frequency adjustment, so that a common price point weighs less
  than a unique amount; within 1%; within 5%); date difference (0, <= 3, <= 7, <= 30 days); description
  (exact, Jaro-Winkler >= 0.9, 2+ words in common, 1 word in common, Jaro-Winkler >= 0.7); reference (exact);
- training without the truth: the prior from the problem's shape (a bank row has at most one partner:
  1 / max(rows)), u by random sampling, m by expectation maximisation on each blocking rule in turn;
- prediction at `SUGGEST_PROBABILITY`, then 1:1 links greedily by match probability (the best remaining
  pair first, each row used once, ties to the lower ids); a link is "auto" at `AUTO_PROBABILITY`.
  Splink's threshold clustering would make N:N groups; Splink has no 1:N (subset-sum) search.
"""

from __future__ import annotations

import logging
import resource
from typing import TYPE_CHECKING

import polars as pl

from bench.scenario import Scenario

if TYPE_CHECKING:
    from splink import SettingsCreator
    from splink.internals.comparison_level_creator import ComparisonLevelCreator

AUTO_PROBABILITY = 0.99
SUGGEST_PROBABILITY = 0.9
AMOUNT_WINDOW_DAYS = 7
REFERENCE_WINDOW_DAYS = 90
U_SAMPLE_PAIRS = 1e7
EM_MAX_PAIRS = 2e6
BOILERPLATE_SHARE = 0.1
DUCKDB_SHARE_OF_CAP = 0.5
INVOICE_OR_LONG_NUMBER = r"\b[a-z]{2,5}-?\d{3,}\b|\b\d{8,}\b"


def _words(text: pl.Expr) -> pl.Expr:
    return text.fill_null("").str.to_lowercase().str.replace_all(r"[^a-z]+", " ").str.strip_chars().str.split(" ")


def _description(frame: pl.DataFrame) -> pl.Series:
    """Letters only, lower-case, each word once, without the words found on more than BOILERPLATE_SHARE of the rows."""
    words = frame.select(_words(pl.col("description")).list.unique(maintain_order=True).alias("w"))["w"]
    frequent = words.explode().value_counts().filter(pl.col("count") > BOILERPLATE_SHARE * frame.height)
    boilerplate = frequent["w"].implode()
    kept = words.list.filter((pl.element() != "") & ~pl.element().is_in(boilerplate)).list.join(" ")
    return kept.replace("", None).alias("description")


def _word_list() -> pl.Expr:
    return pl.col("description").str.split(" ").alias("words")


def _compact(text: pl.Expr) -> pl.Expr:
    compact = text.str.to_lowercase().str.replace_all(r"[^a-z0-9]", "").str.strip_chars_start("0")
    return pl.when(compact != "").then(compact)


def _bank_reference() -> pl.Expr:
    in_text = (
        pl.col("description")
        .fill_null("")
        .str.to_lowercase()
        .str.extract_all(INVOICE_OR_LONG_NUMBER)
        .list.filter(~pl.element().str.starts_with("xx"))  # card masks such as XXXX1234
        .list.first()
    )
    return _compact(pl.coalesce(pl.col("check_number"), in_text))


def prepare(scenario_bank: pl.DataFrame, scenario_ledger: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The two input tables Splink sees: unique_id, account_id, posted_date, amount_minor, description, reference."""
    columns: list[str | pl.Expr] = [
        "account_id",
        "posted_date",
        (pl.col("posted_date") - pl.date(1970, 1, 1)).dt.total_days().alias("day"),
        "amount_minor",
    ]
    bank = scenario_bank.select(
        pl.col("txn_id").alias("unique_id"),
        *columns,
        _description(scenario_bank),
        _bank_reference().alias("reference"),
    ).with_columns(_word_list())
    ledger = scenario_ledger.select(
        pl.col("entry_id").alias("unique_id"),
        *columns,
        _description(scenario_ledger),
        _compact(pl.col("reference")).alias("reference"),
    ).with_columns(_word_list())
    return bank, ledger


BLOCKING_RULES = [
    f"l.account_id = r.account_id and l.amount_minor = r.amount_minor and abs(l.day - r.day) <= {AMOUNT_WINDOW_DAYS}",
    f"l.account_id = r.account_id and l.reference = r.reference and abs(l.day - r.day) <= {REFERENCE_WINDOW_DAYS}",
]
"""Prediction blocking, and EM training on each in turn. The windows are written on `day`, a copy of the date as a
day number, so that EM, which leaves out the comparisons of the columns a training rule uses, still estimates the
date levels."""


def settings(n_bank: int, n_ledger: int) -> SettingsCreator:
    """The Splink model: blocking rules, comparisons, and the prior."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator
    from splink.blocking_rule_library import CustomRule

    def within(share: float) -> ComparisonLevelCreator:
        return cll.CustomLevel(
            f"abs(amount_minor_l - amount_minor_r) <= {share} * greatest(abs(amount_minor_l), abs(amount_minor_r))",
            label_for_charts=f"amount within {share:.0%}",
        )

    def days_apart(days: int) -> ComparisonLevelCreator:
        return cll.AbsoluteDateDifferenceLevel("posted_date", input_is_string=False, threshold=days, metric="day")

    amount = cl.CustomComparison(
        [
            cll.NullLevel("amount_minor"),
            cll.ExactMatchLevel("amount_minor", term_frequency_adjustments=True),
            within(0.01),
            within(0.05),
            cll.ElseLevel(),
        ],
        output_column_name="amount_minor",
    )
    posted = cl.CustomComparison(
        [
            cll.NullLevel("posted_date"),
            cll.ExactMatchLevel("posted_date"),
            days_apart(3),
            days_apart(7),
            days_apart(30),
            cll.ElseLevel(),
        ],
        output_column_name="posted_date",
    )
    description = cl.CustomComparison(
        [
            cll.NullLevel("description"),
            cll.ExactMatchLevel("description"),
            cll.JaroWinklerLevel("description", 0.9),
            cll.ArrayIntersectLevel("words", 2),
            cll.ArrayIntersectLevel("words", 1),
            cll.JaroWinklerLevel("description", 0.7),
            cll.ElseLevel(),
        ],
        output_column_name="description",
    )
    return SettingsCreator(
        link_type="link_only",
        blocking_rules_to_generate_predictions=[CustomRule(rule) for rule in BLOCKING_RULES],
        comparisons=[
            amount,
            posted,
            description,
            cl.ExactMatch("reference"),
        ],
        probability_two_random_records_match=1 / max(n_bank, n_ledger, 1),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def one_to_one(pairs: pl.DataFrame) -> pl.DataFrame:
    """Greedy 1:1 assignment: repeatedly keep the pairs that are the best remaining pair of both their rows.

    Equal to taking pairs in order of (probability desc, bank id, ledger id) and skipping used rows.
    """
    remaining = pairs.sort(["match_probability", "bank_txn_id", "ledger_entry_id"], descending=[True, False, False])
    chosen: list[pl.DataFrame] = []
    while remaining.height:
        best_of_bank = remaining.unique("bank_txn_id", keep="first", maintain_order=True)
        mutual = best_of_bank.join(
            remaining.unique("ledger_entry_id", keep="first", maintain_order=True),
            on=["bank_txn_id", "ledger_entry_id"],
            how="semi",
        )
        chosen.append(mutual)
        remaining = remaining.join(mutual, on="bank_txn_id", how="anti").join(mutual, on="ledger_entry_id", how="anti")
    if not chosen:
        return pairs.clear()
    return pl.concat(chosen)


def run_splink(scenario: Scenario) -> tuple[pl.DataFrame, int]:
    """Links (match_id, status, kind, bank_txn_id, ledger_entry_id) and the number of pairs Splink scored."""
    import duckdb
    from splink import DuckDBAPI, Linker

    bank, ledger = prepare(scenario.bank, scenario.ledger)
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    cap, _ = resource.getrlimit(resource.RLIMIT_AS)
    if cap != resource.RLIM_INFINITY:  # under a memory cap, DuckDB spills to disk before it reaches the cap
        connection.execute(f"SET memory_limit = '{int(cap * DUCKDB_SHARE_OF_CAP) // 2**20}MB'")
    db_api = DuckDBAPI(connection)
    tables = [
        db_api.register(bank.to_arrow(), dataset_display_name="bank"),
        db_api.register(ledger.to_arrow(), dataset_display_name="ledger"),
    ]
    linker = Linker(tables, settings(bank.height, ledger.height), log_level=logging.ERROR)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=1)
    for rule in BLOCKING_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=EM_MAX_PAIRS)
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    candidate_pairs = int(blocked.as_duckdbpyrelation().count("*").fetchall()[0][0])
    predictions = linker.inference.predict(threshold_match_probability=SUGGEST_PROBABILITY, warning_mode="never")
    scored = pl.from_arrow(
        predictions.as_duckdbpyrelation()
        .select("source_dataset_l, unique_id_l, unique_id_r, match_probability")
        .arrow()
    )
    assert isinstance(scored, pl.DataFrame)
    bank_on_left = pl.col("source_dataset_l") == "bank"
    pairs = scored.select(
        pl.when(bank_on_left).then("unique_id_l").otherwise("unique_id_r").alias("bank_txn_id"),
        pl.when(bank_on_left).then("unique_id_r").otherwise("unique_id_l").alias("ledger_entry_id"),
        "match_probability",
    )
    links = one_to_one(pairs).select(
        pl.col("bank_txn_id").alias("match_id"),
        pl.when(pl.col("match_probability") >= AUTO_PROBABILITY)
        .then(pl.lit("auto"))
        .otherwise(pl.lit("suggested"))
        .alias("status"),
        pl.lit("1:1").alias("kind"),
        "bank_txn_id",
        "ledger_entry_id",
    )
    return links, candidate_pairs
