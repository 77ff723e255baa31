"""Benchmark of the rule engine: N bank rows x R rules, seeded. Not part of the test run.

    python -m bench.rules [--rows 100000] [--rules 500]

Writes a rule file of R rules (contains, starts_with, regex with captures, amount
ranges, dates, a few fuzzy tests, some `stop: false`, a split) into a temporary
folder, makes N rows whose descriptions hit about half of the rules, and reports
the time to load and validate the file, to apply every rule to every row, and to
lint the rule set against the rows as history.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from recon.categorize.engine import apply_rules, compile_rules
from recon.categorize.lint import lint
from recon.categorize.rows import RULE_INPUT
from recon.categorize.rulefile import load_rule_files

WORDS = ["ACME", "GLOBEX", "INITECH", "UMBRELLA", "STARK", "WAYNE", "HOOLI", "VANDELAY", "OAKWOOD", "BLUE",
         "BOTTLE", "ADOBE", "SLACK", "GITHUB", "GOOGLE", "STRIPE", "SQUARE", "GUSTO", "ADP", "CITY",
         "METRO"]  # fmt: skip
PREFIXES = ["POS DEBIT", "ACH CREDIT", "ACH DEBIT", "CHECKCARD", "ONLINE TRANSFER", "WIRE", "DEPOSIT"]


def _merchant(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]} {WORDS[(i * 7 + 3) % len(WORDS)]} {i:04d}"


def rule_file(count: int, rng: random.Random) -> str:
    lines = ["rules:"]
    for i in range(count):
        merchant = _merchant(i)
        kind = i % 10
        lines.append(f"  - name: rule {i}")
        if kind == 9:
            lines.append("    stop: false")
        lines.append("    when:")
        if kind in (0, 1, 2, 3):
            lines.append(f"      description: {{contains: '{merchant}'}}")
        elif kind in (4, 5):
            lines.append(f"      description: {{starts_with: '{PREFIXES[i % len(PREFIXES)]} {merchant}'}}")
        elif kind == 6:
            lines.append(f"      description: {{regex: '{merchant} REF (\\d+)'}}")
        elif kind == 7:
            low = rng.randint(1, 500)
            lines.append(f"      description: {{contains: '{merchant}'}}")
            lines.append(f'      amount: {{between: ["-{low + 100}.00", "-{low}.00"]}}')
        elif kind == 8:
            lines.append(f"      description: {{contains: '{merchant}'}}")
            lines.append("      date: {day_of_month: [1, 15, last]}")
        else:
            lines.append(f"      description: {{contains: '{merchant.split()[0]}'}}")
        if i % 100 == 50:  # a few fuzzy tests: the costly kind
            lines[-1] = f"      description: {{similar_to: '{merchant}', min_similarity: 90}}"
        lines.append("    then:")
        if kind == 6:
            lines.append(f"      category: 'Expenses:Cat{i % 40}'")
            lines.append("      memo: 'Ref {1}'")
        elif kind == 9:
            lines.append(f"      tags: [tag{i % 13}]")
        elif i % 50 == 7:
            lines.append("      split: [{category: A, percent: '60'}, {category: B, remainder: true}]")
        else:
            lines.append(f"      category: 'Expenses:Cat{i % 40}'")
    return "\n".join(lines) + "\n"


def rows(count: int, rule_count: int, rng: random.Random) -> pl.DataFrame:
    start = date(2026, 1, 1)
    records = []
    for n in range(count):
        if rng.random() < 0.5:
            merchant = _merchant(rng.randrange(rule_count))
        else:
            merchant = f"{rng.choice(WORDS)} SHOP {rng.randint(0, 99999)}"
        description = f"{rng.choice(PREFIXES)} {merchant} REF {rng.randint(1000, 999999)}"
        records.append(
            {
                "txn_id": f"t{n}", "account_id": "checking", "posted_date": start + timedelta(rng.randrange(365)),
                "amount_minor": -rng.randint(100, 100000), "currency": "USD", "description": description,
                "payee": None, "memo": None, "reference": None, "source": "ofx",
            }
        )  # fmt: skip
    return pl.DataFrame(records, schema=RULE_INPUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(rule_file(args.rules, rng), encoding="utf-8")
        frame = rows(args.rows, args.rules, rng)

        clocks = [(time.perf_counter(), time.process_time())]
        ruleset = load_rule_files([path])
        clocks.append((time.perf_counter(), time.process_time()))
        compiled = compile_rules(ruleset)
        outcome = apply_rules(frame, ruleset, compiled=compiled)
        clocks.append((time.perf_counter(), time.process_time()))
        findings = lint(ruleset, history=frame)
        clocks.append((time.perf_counter(), time.process_time()))

    hit = outcome.filter(pl.col("rule_order").is_not_null()).height
    # CPU time beside wall time: on a shared machine the wall clock also measures the neighbours
    (w0, c0), (w1, c1), (w2, c2), (w3, c3) = clocks
    print(f"{args.rows} rows x {len(ruleset.rules)} rules (seed {args.seed}); wall / CPU seconds")
    print(f"  load + validate rule file: {w1 - w0:6.2f} / {c1 - c0:6.2f}")
    print(f"  apply (compile + run):     {w2 - w1:6.2f} / {c2 - c1:6.2f}   {hit} rows matched a rule")
    print(f"  lint against the rows:     {w3 - w2:6.2f} / {c3 - c2:6.2f}   {len(findings)} findings")


if __name__ == "__main__":
    main()
