"""Matching benchmark: recon against a naive pandas-merge baseline and Splink, on seeded scenarios with ground truth.

    python -m bench.match                       # N = 10k and 100k
    python -m bench.match --million             # also 1M (recon and Splink; the pandas baseline runs out of memory)
    python -m bench.match --sizes 20000         # any sizes
    python -m bench.match --methods recon splink --memory-gb 12 --time-limit 900

Each (method, N) runs in a fresh process, so "peak MB" is that process's peak
resident memory (data generation included). Printed per run: wall time of the
matching alone (each method's libraries are imported before the clock starts), its
CPU time (all threads: a fairer figure on a busy machine),
candidate pairs, and against the truth (`bench.scenario`):

- auto precision: links in auto matches whose two rows belong to the same event;
- 1:1 recall, auto and auto+suggested: correct 1:1 links found / links expected;
- 1:N recall: batched deposits found whole (exactly their rows, in one match),
  and 1:N precision: group matches that are exactly one true group.

A link to an interchangeable row (identical twins, same-pay employees on one pay
day) counts as correct: those rows share one truth group.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import resource
import time
from typing import Any

import numpy as np
import polars as pl

from bench.scenario import KIND_1TON, Scenario, generate
from recon.config import MatchingSettings


def _links_with_truth(links: pl.DataFrame, scenario: Scenario) -> pl.DataFrame:
    return links.join(
        scenario.bank.select(pl.col("txn_id").alias("bank_txn_id"), pl.col("truth").alias("b_truth")), on="bank_txn_id"
    ).join(
        scenario.ledger.select(pl.col("entry_id").alias("ledger_entry_id"), pl.col("truth").alias("l_truth")),
        on="ledger_entry_id",
    )


def _looks(frame: pl.DataFrame, id_column: str, text_columns: list[str]) -> pl.DataFrame:
    """Each row's look: rows with the same look are indistinguishable, any of them is as right as another."""
    key = pl.struct("account_id", "amount_minor", "posted_date", *text_columns).hash()
    return frame.select(id_column, "truth", key.alias("look"))


def _correct(links: pl.DataFrame, scenario: Scenario) -> pl.Series:
    """A link is correct when its rows are of one event, or one row is indistinguishable from the true partner."""
    bank_looks = _looks(scenario.bank, "txn_id", ["description", "check_number"])
    ledger_looks = _looks(scenario.ledger, "entry_id", ["description", "counterparty", "reference"])
    truth_bank_looks = bank_looks.select(pl.col("truth").alias("l_truth"), pl.col("look").alias("b_look")).unique()
    truth_ledger_looks = ledger_looks.select(pl.col("truth").alias("b_truth"), pl.col("look").alias("l_look")).unique()
    with_looks = (
        links.with_row_index("_row")
        .join(
            bank_looks.select(pl.col("txn_id").alias("bank_txn_id"), pl.col("look").alias("b_look")), on="bank_txn_id"
        )
        .join(
            ledger_looks.select(pl.col("entry_id").alias("ledger_entry_id"), pl.col("look").alias("l_look")),
            on="ledger_entry_id",
        )
    )
    twin_ok = pl.concat(
        [
            with_looks.join(truth_ledger_looks, on=["b_truth", "l_look"], how="semi").select("_row"),
            with_looks.join(truth_bank_looks, on=["l_truth", "b_look"], how="semi").select("_row"),
        ]
    ).unique()
    return (
        with_looks.sort("_row")
        .select((pl.col("b_truth") == pl.col("l_truth")) | pl.col("_row").is_in(twin_ok["_row"].implode()))
        .to_series()
        .alias("ok")
    )


def evaluate(links: pl.DataFrame, scenario: Scenario) -> dict[str, float]:
    """Precision and recall of links (match_id, status, kind, bank_txn_id, ledger_entry_id) against the truth."""
    scored = _links_with_truth(links, scenario)
    scored = scored.with_columns(_correct(scored, scenario))
    truth = scenario.truth
    one_to_one = truth.filter(pl.col("kind") != KIND_1TON)
    expected_1to1 = int(one_to_one["expected_links"].sum())
    single = scored.filter(pl.col("kind") == "1:1").join(
        one_to_one.select(pl.col("truth").alias("l_truth")), on="l_truth", how="semi"
    )
    auto = scored.filter(pl.col("status") == "auto")
    groups = scored.filter(pl.col("kind") != "1:1")
    exact_groups = (
        groups.group_by("match_id")
        .agg(pl.col("ok").all(), pl.col("b_truth").first(), pl.col("ledger_entry_id").n_unique().alias("n"))
        .join(truth.select(pl.col("truth").alias("b_truth"), "expected_links", "kind"), on="b_truth", how="left")
        .with_columns(
            (pl.col("ok") & (pl.col("n") == pl.col("expected_links")) & (pl.col("kind") == KIND_1TON)).alias("exact")
        )
    )
    n_groups = truth.filter(pl.col("kind") == KIND_1TON).height

    def ratio(a: Any, b: float) -> float:  # a: a count or a polars sum
        return float(a) / b if b else float("nan")

    return {
        "auto_precision": ratio(auto["ok"].sum(), auto.height),
        "auto_links": auto.height,
        "recall_1to1_auto": ratio(single.filter(pl.col("status") == "auto")["ok"].sum(), expected_1to1),
        "recall_1to1_auto_suggested": ratio(single["ok"].sum(), expected_1to1),
        "suggested_precision": ratio(
            scored.filter(pl.col("status") == "suggested")["ok"].sum(),
            scored.filter(pl.col("status") == "suggested").height,
        ),
        "recall_1toN": ratio(exact_groups["exact"].sum(), n_groups),
        "precision_1toN": ratio(exact_groups["exact"].sum(), exact_groups.height),
    }


def run_recon(scenario: Scenario) -> tuple[pl.DataFrame, int]:
    from recon.match import match

    result = match(scenario.bank.drop("truth"), scenario.ledger.drop("truth"), settings=MatchingSettings())
    links = result.links.join(result.matches.select("match_id", "status", "kind"), on="match_id")
    return links, result.candidate_pairs


def run_naive_pandas(scenario: Scenario) -> tuple[pl.DataFrame, int]:
    """Merge on (account, amount), keep the date window, score descriptions, take the best pair per row."""
    import pandas as pd
    from rapidfuzz import fuzz, process

    bank = scenario.bank.select("txn_id", "account_id", "amount_minor", "posted_date", "description").to_pandas()
    ledger = scenario.ledger.select("entry_id", "account_id", "amount_minor", "posted_date", "description").to_pandas()
    pairs = bank.merge(ledger, on=["account_id", "amount_minor"], suffixes=("_b", "_l"))
    days = (pd.to_datetime(pairs["posted_date_b"]) - pd.to_datetime(pairs["posted_date_l"])).dt.days
    pairs = pairs[(days >= -3) & (days <= 7)].copy()
    pairs["score"] = process.cpdist(
        pairs["description_b"].str.lower().to_numpy(), pairs["description_l"].str.lower().to_numpy(),
        scorer=fuzz.token_set_ratio, workers=-1,
    )  # fmt: skip
    best = pairs.sort_values(["score", "txn_id", "entry_id"], ascending=[False, True, True])
    best = best.drop_duplicates("txn_id").drop_duplicates("entry_id")
    links = pl.DataFrame(
        {
            "match_id": best["txn_id"].to_numpy(),
            "status": np.where(best["score"].to_numpy() >= 60, "auto", "suggested"),
            "kind": "1:1",
            "bank_txn_id": best["txn_id"].to_numpy(),
            "ledger_entry_id": best["entry_id"].to_numpy(),
        }
    )
    return links, len(pairs)


def run_splink(scenario: Scenario) -> tuple[pl.DataFrame, int]:
    """Splink with the DuckDB backend, trained unsupervised (configuration in `bench.splink_baseline`)."""
    from bench.splink_baseline import run_splink as splink_links

    return splink_links(scenario)


METHODS = {"recon": run_recon, "naive pandas merge": run_naive_pandas, "splink": run_splink}
LIBRARIES = {
    "recon": ("recon.match",),
    "naive pandas merge": ("pandas", "rapidfuzz.process"),
    "splink": ("bench.splink_baseline",),
}
"""What each method imports: loaded before its clock starts, so the time is the matching's."""
MILLION_METHODS = ("recon", "splink")
"""Methods `--million` runs at N = 1M: the naive baseline's merge does not fit in memory there."""


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _one_run(method: str, n: int, queue: Any, memory_gb: float | None = None) -> None:
    if memory_gb:  # a cap on the address space: a run that needs more fails here rather than takes the machine down
        cap = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    scenario = generate(n)
    for library in LIBRARIES[method]:
        importlib.import_module(library)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    links, candidates = METHODS[method](scenario)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    metrics = evaluate(links, scenario)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sizes = {"n_bank": scenario.bank.height, "n_ledger": scenario.ledger.height, "candidate_pairs": candidates}
    queue.put({"method": method, **sizes, "seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak_mb, **metrics})


def measure(method: str, n: int, *, memory_gb: float | None = None, time_limit: float | None = None) -> dict[str, Any]:
    """One run in a fresh process (clean peak memory), with an optional memory cap and time limit."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_one_run, args=(method, n, queue, memory_gb))
    process.start()
    process.join(time_limit)
    if process.is_alive():
        process.kill()
        process.join()
        return {"method": method, "n_bank": n, "error": f"did not finish in {time_limit:.0f} s"}
    if process.exitcode != 0:
        return {"method": method, "n_bank": n, "error": f"exit code {process.exitcode} (out of memory?)"}
    result: dict[str, Any] = queue.get()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help=f"also N = 1,000,000 ({', '.join(MILLION_METHODS)})")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--no-baseline", action="store_true", help="recon only (same as --methods recon)")
    parser.add_argument("--memory-gb", type=float, help="cap each run's address space (a run over it fails)")
    parser.add_argument("--time-limit", type=float, help="stop a run after this many seconds")
    args = parser.parse_args()
    methods = ["recon"] if args.no_baseline else args.methods
    runs = [(m, n) for n in args.sizes for m in methods]
    if args.million:
        runs += [(m, 1_000_000) for m in methods if m in MILLION_METHODS]
    header = (
        f"{'method':<20}{'N bank':>9}{'time s':>8}{'cpu s':>8}{'peak MB':>9}{'pairs':>10}{'auto P':>9}{'R auto':>8}"
        f"{'R a+s':>8}{'sugg P':>8}{'R 1:N':>8}{'P 1:N':>8}"
    )
    print(header)
    for method, n in runs:
        r = measure(method, n, memory_gb=args.memory_gb, time_limit=args.time_limit)
        if "error" in r:
            print(f"{method:<20}{n:>9}  {r['error']}")
            continue
        print(
            f"{method:<20}{r['n_bank']:>9}{r['seconds']:>8.2f}{r['cpu_seconds']:>8.2f}{r['peak_mb']:>9.0f}{r['candidate_pairs']:>10}"
            f"{r['auto_precision']:>9.4f}{r['recall_1to1_auto']:>8.4f}{r['recall_1to1_auto_suggested']:>8.4f}"
            f"{r['suggested_precision']:>8.4f}{r['recall_1toN']:>8.4f}{r['precision_1toN']:>8.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
