"""Statement balances: two statements of one day in one file are both kept, and the day's last one counts.

An MT940 file may hold an intraday statement (closing `:62M:`) and the end-of-day one
(`:62F:`) of the same date; a CAMT file may hold two `Stmt` of one day. Both are the bank's
word, so both are stored (the key holds the statement's position in the file), and the
reconciliation statement takes the closing of the file's last statement of the day.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from recon.config import AccountSettings, load_config
from recon.importing import ImportJob, import_file
from recon.model import STATEMENT_BALANCES
from recon.report.statement import statement_for
from recon.store import open_store, tables
from recon.store.migrations import LATEST_VERSION

ACCOUNT = AccountSettings(id="main", currency="EUR")

# statement 7 page 1 closes the day at 88.50 (intermediate), page 2 at 70.00 (final)
MT940_TWO_OF_ONE_DAY = """:20:INTRADAY
:25:DE89370400440532013000
:28C:7/1
:60F:C260302EUR100,00
:61:2603020302D11,50NTRFNONREF//REF1
:86:Rent
:62M:C260302EUR88,50
-
:20:ENDOFDAY
:25:DE89370400440532013000
:28C:7/2
:60M:C260302EUR88,50
:61:2603020302D18,50NTRFNONREF//REF2
:86:Power
:62F:C260302EUR70,00
-
"""


def _camt_statement(statement_id: str, opening: str, closing: str, reference: str, amount: str) -> str:
    return f"""<Stmt><Id>{statement_id}</Id><ElctrncSeqNb>{statement_id[-1]}</ElctrncSeqNb>
<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2026-03-02</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2026-03-02</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-03-02</Dt></BookgDt><AcctSvcrRef>{reference}</AcctSvcrRef></Ntry>
</Stmt>"""


CAMT_TWO_OF_ONE_DAY = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-03-02T23:00:00</CreDtTm></GrpHdr>
{_camt_statement("S-1", "100.00", "88.50", "R1", "11.50")}
{_camt_statement("S-2", "88.50", "70.00", "R2", "18.50")}
</BkToCstmrStmt></Document>
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _balances(store_path: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(store_path), read_only=True) as con:
        return con.execute(
            "SELECT kind, as_of, amount_minor, statement_seq, statement_id FROM statement_balances ORDER BY ALL"
        ).fetchall()


def _import_twice(tmp_path: Path, path: Path, fmt: str) -> tuple[int, int]:
    with open_store(tmp_path / "s.duckdb") as store:
        job = ImportJob(path, "bank", ACCOUNT, fmt)
        first = import_file(store, job, run_id="r1")
        again = import_file(store, job, run_id="r2")
    assert first.problems == []
    return first.balances, again.rows_new


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "recon.toml"
    config.write_text('[[accounts]]\nid = "main"\ncurrency = "EUR"\n')
    return config


def test_mt940_intraday_and_end_of_day_statements_of_one_date_are_both_kept(tmp_path: Path) -> None:
    path = _write(tmp_path, "day.sta", MT940_TWO_OF_ONE_DAY)
    assert _import_twice(tmp_path, path, "mt940") == (4, 0)
    day = date(2026, 3, 2)
    assert _balances(tmp_path / "s.duckdb") == [
        ("closing", day, 7000, 2, "7/2"),
        ("closing", day, 8850, 1, "7/1"),
        ("opening", day, 8850, 2, "7/2"),
        ("opening", day, 10000, 1, "7/1"),
    ]


def test_camt_two_statements_of_one_day_are_both_kept_with_their_ids(tmp_path: Path) -> None:
    path = _write(tmp_path, "day.xml", CAMT_TWO_OF_ONE_DAY)
    assert _import_twice(tmp_path, path, "camt053") == (4, 0)
    day = date(2026, 3, 2)
    assert _balances(tmp_path / "s.duckdb") == [
        ("closing", day, 7000, 2, "S-2"),
        ("closing", day, 8850, 1, "S-1"),
        ("opening", day, 8850, 2, "S-2"),
        ("opening", day, 10000, 1, "S-1"),
    ]


def test_the_reconciliation_statement_takes_the_days_last_closing_without_a_false_disagreement(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "day.sta", MT940_TWO_OF_ONE_DAY)
    config = load_config(_config(tmp_path))
    with open_store(tmp_path / "s.duckdb") as store:
        import_file(store, ImportJob(path, "bank", ACCOUNT, "mt940"), run_id="r1")
        statement = statement_for(store, config, "main")
    assert (statement.as_of, statement.bank_balance) == (date(2026, 3, 2), 7000)
    assert not [n for n in statement.notes if "disagree" in n]


V1_STATEMENT_BALANCES = """CREATE TABLE statement_balances (
    account_id VARCHAR NOT NULL, as_of DATE NOT NULL, kind VARCHAR NOT NULL, amount_minor BIGINT NOT NULL,
    currency VARCHAR NOT NULL, source_file VARCHAR NOT NULL, batch_id VARCHAR NOT NULL,
    PRIMARY KEY (account_id, as_of, kind, source_file))"""


def test_a_version_6_store_keeps_its_balances_and_takes_a_second_statement_of_the_day(tmp_path: Path) -> None:
    store_path = tmp_path / "old.duckdb"
    with duckdb.connect(str(store_path)) as con:
        con.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, "
            "applied_at TIMESTAMP NOT NULL)"
        )
        con.execute("INSERT INTO schema_migrations SELECT v, 'old', now() FROM range(1, 7) t(v)")
        con.execute(V1_STATEMENT_BALANCES)
        con.execute(tables.WRITEBACK_LOG)  # of version 4: a later migration updates it
        con.execute(tables.RUNS)  # of version 1: opening a store marks the runs a killed process left
        con.execute("INSERT INTO statement_balances VALUES ('main', '2026-03-01', 'closing', 100, 'EUR', 'a.sta', 'b')")
    with open_store(store_path) as store:
        version = store.con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0]
        kept = store.con.execute("SELECT * FROM statement_balances").fetchall()
        key = store.con.execute(
            "SELECT constraint_column_names FROM duckdb_constraints() "
            "WHERE table_name = 'statement_balances' AND constraint_type = 'PRIMARY KEY'"
        ).fetchall()[0]
        store.con.execute(
            "INSERT INTO statement_balances VALUES ('main', '2026-03-01', 'closing', 90, 'EUR', 'a.sta', 'b', 2, NULL)"
        )
        both = store.con.execute("SELECT count(*) FROM statement_balances").fetchall()[0]
    assert version == (LATEST_VERSION,)
    assert kept == [("main", date(2026, 3, 1), "closing", 100, "EUR", "a.sta", "b", 1, None)]
    assert list(key[0]) == list(STATEMENT_BALANCES.primary_key)
    assert both == (2,)
