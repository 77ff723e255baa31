"""Helpers for the rule tests: write rule files, make bank rows, run the CLI in-process."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from recon.categorize.engine import apply_rules
from recon.categorize.rows import RULE_INPUT
from recon.categorize.rulefile import RuleSet, load_rule_files
from recon.cli import main
from recon.errors import UserError
from recon.store import Store


def write_rules(folder: Path, text: str, name: str = "rules.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def ruleset(folder: Path, text: str, *, accounts: list[str] | None = None) -> RuleSet:
    return load_rule_files([write_rules(folder, text)], accounts=accounts)


def bank_rows(*rows: dict[str, object]) -> pl.DataFrame:
    """Bank rows for the engine; each dict overrides these defaults."""
    defaults: dict[str, object] = {
        "account_id": "checking", "posted_date": date(2026, 7, 15), "amount_minor": -1000, "currency": "USD",
        "description": "", "payee": None, "memo": None, "reference": None, "source": "ofx",
    }  # fmt: skip
    records = [{**defaults, "txn_id": f"t{i}", **row} for i, row in enumerate(rows)]
    return pl.DataFrame(records, schema=RULE_INPUT)


def outcome(rules: RuleSet, *rows: dict[str, object]) -> list[dict[str, object]]:
    """What `rules` make of `rows`, one dict per row, with `rule` = the name of the first applied rule."""
    names = {r.order: r.name for r in rules.rules}
    result = apply_rules(bank_rows(*rows), rules)
    return [{**r, "rule": names.get(r["rule_order"])} for r in result.iter_rows(named=True)]  # type: ignore[arg-type]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """Run `recon ARGS` in this process the way the console script does; (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def import_and_match(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    """Fill the demo's store the way `recon run` does, without the reports (not what these tests are about)."""
    for command in ("import", "match"):
        code, out, err = run_cli(capsys, command, "--config", config)
        assert code == 0, out + err


def set_by_person(
    store: Store,
    txn_id: str,
    *,
    category: str | None = None,
    payee: str | None = None,
    memo: str | None = None,
    tags: list[str] | None = None,
    transfer_account: str | None = None,
    ignored: bool = False,
) -> None:
    """A person's categorization stored directly, without the decision `recon review categorize` records
    (`recon.person_categories`): for tests of what the engine, write-back and corrections do with one."""
    with store.transaction() as con:
        known = con.execute("SELECT count(*) FROM bank_transactions WHERE txn_id = ?", [txn_id]).fetchone()
        if not known or not known[0]:
            raise UserError(f"no bank row with txn_id '{txn_id}'")
        con.execute("DELETE FROM categorizations WHERE txn_id = ?", [txn_id])
        con.execute(
            "INSERT INTO categorizations (txn_id, origin, category, payee, memo, tags, transfer_account, ignored, "
            "categorized_at) VALUES (?, 'person', ?, ?, ?, ?, ?, ?, ?)",
            [txn_id, category, payee, memo, tags, transfer_account, ignored, datetime.now(UTC).replace(tzinfo=None)],
        )
