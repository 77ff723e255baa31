"""The README's main command, end to end on the generated demo, through the real CLI."""

import csv
import re
from decimal import Decimal
from pathlib import Path

import polars as pl

from bench.sample_data import generate
from recon.model import BANK_TRANSACTIONS, LEDGER_ENTRIES
from tests.helpers import count, recon, snapshot

MATCH_COLUMNS = [
    "match_id", "status", "kind", "score", "account_id", "bank_txn_id", "bank_external_id", "ledger_entry_id",
    "ledger_external_id", "amount_diff_minor", "date_diff_days", "reasons",
]  # fmt: skip


def test_run_twice_imports_nothing_new_and_gives_the_same_matches(demo: Path) -> None:
    config = demo / "recon.toml"
    first = recon("run", "--config", config)
    assert first.returncode == 0, first.stderr
    assert "rows imported:" in first.stdout
    assert "matched:" in first.stdout
    assert "exceptions:" in first.stdout
    for name in ("exceptions.csv", "exceptions.html", "matches.csv"):
        assert (demo / "out" / name).stat().st_size > 0
    before = snapshot(demo / "recon.duckdb")
    matches_before = (demo / "out" / "matches.csv").read_text()

    second = recon("run", "--config", config)
    assert second.returncode == 0, second.stderr
    assert ", 0 new," in second.stdout
    assert snapshot(demo / "recon.duckdb") == before
    assert (demo / "out" / "matches.csv").read_text() == matches_before


def test_demo_reconciles_as_its_story_says(demo: Path) -> None:
    assert recon("run", "--config", demo / "recon.toml").returncode == 0
    store = demo / "recon.duckdb"
    # the two OFX downloads overlap by two weeks: each bank row is stored once
    bank_ids = {r["FITID"] for r in _ofx_fitids(demo)}
    assert count(store, "SELECT count(*) FROM bank_transactions") == len(bank_ids)
    # the two identical coffees are two rows on each side
    assert count(store, "SELECT count(*) FROM bank_transactions WHERE amount_minor = -475") == 2
    assert count(store, "SELECT count(*) FROM ledger_entries WHERE amount_minor = -475") == 2
    # bank-only fees and interest stay open with a reason; nothing is matched to them
    fees = pl.read_csv(demo / "out" / "exceptions.csv").filter(pl.col("description") == "MONTHLY SERVICE FEE")
    assert fees.height == 3
    assert set(fees["kind"]) == {"bank_unmatched"}
    # no bank row and no ledger row is in two auto/confirmed/suggested matches
    assert (
        count(
            store,
            """SELECT count(*) FROM (SELECT bank_txn_id FROM match_links l JOIN matches m USING (match_id)
           WHERE m.status <> 'rejected' GROUP BY bank_txn_id HAVING count(DISTINCT match_id) > 1)""",
        )
        == 0
    )
    # every auto match links rows of equal amount
    assert (
        count(
            store,
            """SELECT count(*) FROM match_links l JOIN matches m USING (match_id)
           JOIN bank_transactions b ON b.txn_id = l.bank_txn_id JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id
           WHERE m.status = 'auto' AND b.amount_minor <> e.amount_minor""",
        )
        == 0
    )


def _ofx_fitids(demo: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted((demo / "bank").glob("*.ofx")):
        for line in path.read_text().splitlines():
            if line.startswith("<FITID>"):
                rows.append({"FITID": line.removeprefix("<FITID>")})
    return rows


def test_export_matches_has_the_design_columns_and_explanations(demo: Path, tmp_path: Path) -> None:
    config = demo / "recon.toml"
    assert recon("run", "--config", config).returncode == 0
    out = tmp_path / "m.csv"
    result = recon("export", "matches", "--config", config, "-o", out)
    assert result.returncode == 0, result.stderr
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0].keys()) == MATCH_COLUMNS
    assert all(r["reasons"].startswith(("amount equal", "amount differs")) for r in rows)
    assert {r["status"] for r in rows} <= {"auto", "suggested", "confirmed", "rejected"}
    # bank_external_id is the OFX FITID, ledger_external_id the GL line id; the *_id columns are the store's
    assert all(r["bank_external_id"].startswith("2026") for r in rows)
    assert all(r["ledger_external_id"].startswith("JE-") for r in rows)
    store = demo / "recon.duckdb"
    for r in rows:
        assert count(store, f"SELECT count(*) FROM bank_transactions WHERE txn_id = '{r['bank_txn_id']}'") == 1
        assert count(store, f"SELECT count(*) FROM ledger_entries WHERE entry_id = '{r['ledger_entry_id']}'") == 1


def test_a_row_of_the_matches_export_can_be_matched_by_hand_with_its_ids(demo: Path, tmp_path: Path) -> None:
    config = demo / "recon.toml"
    assert recon("run", "--config", config).returncode == 0
    out = tmp_path / "m.csv"
    assert recon("export", "matches", "--config", config, "-o", out).returncode == 0
    row = next(r for r in csv.DictReader(out.open()) if r["status"] == "suggested" and r["kind"] == "1:1")
    done = recon("review", "match", "--bank", row["bank_txn_id"], "--ledger", row["ledger_entry_id"],
                 "--allow-difference", "--config", config)  # fmt: skip
    assert done.returncode == 0, done.stderr
    # the GL's own id is not the store's: the refusal says which row it names
    refused = recon("review", "match", "--bank", row["bank_txn_id"], "--ledger", row["ledger_external_id"],
                    "--config", config)  # fmt: skip
    assert refused.returncode == 2
    assert f"{row['ledger_external_id']} is the external id of ledger row {row['ledger_entry_id']}" in refused.stderr


def test_row_exports_have_every_column_of_their_table(demo: Path, tmp_path: Path) -> None:
    config = demo / "recon.toml"
    assert recon("import", "--config", config).returncode == 0
    for kind, table in (("transactions", BANK_TRANSACTIONS), ("ledger", LEDGER_ENTRIES)):
        columns = [*table.names, "match_status"]
        columns.insert(columns.index("amount_minor"), "amount")
        parquet = pl.read_parquet(_export(config, kind, tmp_path / f"{kind}.parquet"))
        assert parquet.columns == columns
        assert parquet["raw"].is_not_null().all()  # the provenance of every row
        assert pl.read_csv(_export(config, kind, tmp_path / f"{kind}.csv")).columns == [
            c for c in columns if c != "amount_minor"
        ]


def _export(config: Path, kind: str, out: Path) -> Path:
    result = recon("export", kind, "--config", config, "-o", out)
    assert result.returncode == 0, result.stderr
    return out


def test_export_transactions_and_ledger_keep_amounts_exact(demo: Path, tmp_path: Path) -> None:
    config = demo / "recon.toml"
    assert recon("import", "--config", config).returncode == 0
    out = tmp_path / "t.csv"
    assert recon("export", "transactions", "--config", config, "-o", out).returncode == 0
    frame = pl.read_csv(out, schema_overrides={"amount": pl.String})
    for column in ("txn_id", "account_id", "external_id", "posted_date", "amount", "currency", "description",
                   "source_file", "source_line", "pending"):  # fmt: skip
        assert column in frame.columns
    assert frame["amount"].str.contains(r"^-?\d+\.\d\d$").all()
    parquet = tmp_path / "l.parquet"
    assert recon("export", "ledger", "--config", config, "-o", parquet).returncode == 0
    ledger = pl.read_parquet(parquet)
    gl = pl.read_csv(demo / "ledger" / "gl.csv", schema_overrides={"amount": pl.String})
    assert sorted(map(Decimal, ledger["amount"])) == sorted(map(Decimal, gl["amount"]))


def test_wrong_config_key_exits_2_naming_it(demo: Path) -> None:
    config = demo / "recon.toml"
    config.write_text(config.read_text().replace("auto_threshold", "auto_treshold"))
    result = recon("run", "--config", config)
    assert result.returncode == 2
    assert "key 'matching.auto_treshold': unknown key" in result.stderr
    assert str(config) in result.stderr
    assert "Traceback" not in result.stderr
    assert not (demo / "recon.duckdb").exists()


def test_a_refused_file_does_not_stop_the_others_but_the_run_exits_2(demo: Path) -> None:
    gl = demo / "ledger" / "gl.csv"
    lines = gl.read_text().splitlines()
    lines[6] = lines[6].replace(lines[6].split(",")[2], "12.3x", 1)
    gl.write_text("\n".join(lines) + "\n")
    result = recon("run", "--config", demo / "recon.toml")
    assert result.returncode == 2
    assert f"{gl}:7: field 'amount': '12.3x' is not an exact amount" in result.stderr
    store = demo / "recon.duckdb"
    assert count(store, "SELECT count(*) FROM ledger_entries") == 0
    assert count(store, "SELECT count(*) FROM bank_transactions") > 0


def test_committed_sample_data_is_what_the_generator_makes(tmp_path: Path) -> None:
    generate(tmp_path)
    repo_sample = Path(__file__).resolve().parent.parent / "sample_data"
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for relative in made:
        assert (repo_sample / relative).read_bytes() == (tmp_path / relative).read_bytes(), relative


def test_summary_counts_add_up_and_count_a_suggested_group_once(demo: Path) -> None:
    result = recon("run", "--config", demo / "recon.toml")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("exceptions:"))
    total, *parts = map(int, re.findall(r"\d+", line))
    assert len(parts) == 4, line  # bank open, ledger open, suggested, duplicates
    assert total == sum(parts), line
    lines = list(csv.DictReader((demo / "out" / "matches.csv").open()))
    suggested = {r["match_id"] for r in lines if r["status"] == "suggested"}
    assert len(suggested) < sum(r["status"] == "suggested" for r in lines)  # the demo has a 1:N suggestion
    assert f"{len(suggested)} suggested matches to review" in line
    page = (demo / "out" / "exceptions.html").read_text()
    assert f">Suggested matches ({len(suggested)})</h2>" in page
    assert f"{len(suggested)} suggested matches ·" in page


def test_quiet_run_prints_nothing_on_success_but_writes_the_reports(demo: Path) -> None:
    result = recon("-q", "run", "--config", demo / "recon.toml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""
    assert (demo / "out" / "exceptions.html").stat().st_size > 0


def test_quiet_run_still_reports_a_refused_file_on_stderr(demo: Path) -> None:
    gl = demo / "ledger" / "gl.csv"
    gl.write_text(gl.read_text().replace(",-4200.00,", ",-4200.0x,", 1))
    result = recon("-q", "run", "--config", demo / "recon.toml")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "field 'amount': '-4200.0x' is not an exact amount" in result.stderr


def test_open_reasons_say_the_matcher_looked_at_open_rows_only(demo: Path) -> None:
    assert recon("run", "--config", demo / "recon.toml").returncode == 0
    report = pl.read_csv(demo / "out" / "exceptions.csv").filter(pl.col("reason") == "no_candidate")
    texts = dict(report.group_by("kind").agg(pl.col("reason_text").unique()).iter_rows())
    # the books do have entries of -15.00 and the like, matched to other rows: "no open" is what is true
    assert texts["bank_unmatched"] == [
        "no open book entry with this amount in the date window "
        "(rows matched to others or flagged as duplicates are not candidates)"
    ]
    assert texts["ledger_unmatched"] == [
        "no open bank row with this amount in the date window "
        "(rows matched to others or flagged as duplicates are not candidates)"
    ]
