"""Import speed: recon's importers beside a plain `polars.read_csv` of the same file, in one run.

    python -m bench.imports [--rows 1000000] [--ofx-rows 100000] [--repeat 3]

Prints, for a generated Chase-style CSV of N rows and an OFX of M transactions:
the baseline (`polars.read_csv` of the CSV, every column as text), recon's extract
(parse, validate, exact amounts), and the whole import (ids, one DuckDB transaction),
with rows per second and the ratio to the baseline. The baseline and the CSV
extract are the best of `--repeat` runs taken in turn, so that a busy machine slows
both alike; the rest runs once (the imports store rows). Seeded; nothing is stored
in the repository.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl

from bench.ofx_writer import OfxTxn, ofx_statement
from importers.csv_bank import CsvBankImporter
from importers.csv_profile import load_profile
from importers.ofx import OfxImporter
from recon.config import AccountSettings
from recon.importing import ImportJob, import_file
from recon.store import open_store

WORDS = ["AMAZON MKTP", "STARBUCKS", "SHELL OIL", "PAYROLL GUSTO", "ACH CREDIT ACME CORP", "ZELLE TO J SMITH",
         "ADOBE *CREATIVE", "UBER TRIP", "CHECK", "ONLINE TRANSFER"]  # fmt: skip


def chase_csv(path: Path, rows: int, *, seed: int = 1) -> None:
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    with path.open("w") as fh:
        fh.write("Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n")
        for i in range(rows):
            cents = rng.randint(-250_000, 250_000) or 1
            day = start + timedelta(days=rng.randint(0, 364))
            kind = "CREDIT" if cents > 0 else "DEBIT"
            fh.write(f"{kind},{day:%m/%d/%Y},{rng.choice(WORDS)} {i % 9973},{cents / 100:.2f},ACH_{kind},,\n")


def ofx_file(path: Path, rows: int, *, seed: int = 2) -> None:
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    txns = [
        OfxTxn(f"FIT{i}", start + timedelta(days=rng.randint(0, 364)),
               Decimal(rng.randint(-250_000, 250_000) or 1) / 100, f"{rng.choice(WORDS)} {i}")
        for i in range(rows)
    ]  # fmt: skip
    path.write_text(
        ofx_statement(txns, account_id="1", currency="USD", start=start, end=start + timedelta(364), balance=Decimal(0))
    )


def timed(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def best_in_turn(works: list[Callable[[], object]], repeat: int) -> list[float]:
    """The best time of each work over `repeat` rounds, the works taking turns within a round."""
    best = [float("inf")] * len(works)
    for _ in range(repeat):
        best = [min(b, timed(work)) for b, work in zip(best, works, strict=True)]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ofx-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the baseline and the extracts (best kept)")
    args = parser.parse_args()
    account = AccountSettings(id="checking", currency="USD")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path, ofx_path = folder / "chase.csv", folder / "bank.ofx"
        chase_csv(csv_path, args.rows)
        ofx_file(ofx_path, args.ofx_rows)
        importer = CsvBankImporter(load_profile("chase-checking"))

        baseline, extract = best_in_turn(
            [lambda: pl.read_csv(csv_path, infer_schema=False), lambda: importer.extract(csv_path, currency="USD")],
            args.repeat,
        )
        ofx_extract = timed(lambda: OfxImporter().extract(ofx_path, currency="USD"))
        with open_store(folder / "s.duckdb") as store:
            full = timed(
                lambda: import_file(
                    store, ImportJob(csv_path, "bank", account, "csv", "chase.csv", "chase-checking"), run_id="bench"
                )
            )
            ofx_full = timed(lambda: import_file(store, ImportJob(ofx_path, "bank", account, "ofx", "bank.ofx"),
                                                 run_id="bench"))  # fmt: skip

    print(f"{'step':<44}{'seconds':>9}{'rows/s':>14}{'x baseline':>12}")
    for name, rows, seconds in [
        (f"polars.read_csv, {args.rows:,} rows (baseline)", args.rows, baseline),
        ("recon CSV extract (chase profile)", args.rows, extract),
        ("recon CSV import (ids + DuckDB transaction)", args.rows, full),
        (f"recon OFX extract, {args.ofx_rows:,} transactions", args.ofx_rows, ofx_extract),
        ("recon OFX import", args.ofx_rows, ofx_full),
    ]:
        ratio = seconds / baseline if rows == args.rows else float("nan")
        print(f"{name:<44}{seconds:>9.3f}{rows / seconds:>14,.0f}{ratio:>12.2f}")


if __name__ == "__main__":
    main()
