"""CAMT pending -> booked: the booked entry replaces the pending one with the same bank reference.

A camt.052/053/054 entry first seen with status PDNG (`<Sts>PDNG</Sts>`, or `<Sts><Cd>PDNG</Cd></Sts>`
from .08 on) and later booked (BOOK) with the same `AcctSvcrRef` is one transaction. Its id
is the reference, so without care the booked row counted as known and the row stayed
pending forever. Now the booked row replaces the pending one, nothing is doubled, the import
report says so, and every file read again adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from importers.camt import CamtImporter
from recon.config import AccountSettings
from recon.importing import FileReport, ImportJob, import_file
from recon.store import Store, open_store
from tests.helpers import count, recon
from tests.rules_support import set_by_person

ACCOUNT = AccountSettings(id="main", currency="EUR")


@dataclass(frozen=True)
class Entry:
    reference: str
    amount: str
    status: str  # BOOK | PDNG
    booked: date | None
    value: date = date(2026, 3, 2)
    text: str = "Card payment"


def camt(entries: list[Entry], *, version: str = "08") -> str:
    """A camt.053 statement; .02 writes `<Sts>BOOK</Sts>`, .08 `<Sts><Cd>BOOK</Cd></Sts>`."""
    body = []
    for e in entries:
        status = f"<Sts>{e.status}</Sts>" if version == "02" else f"<Sts><Cd>{e.status}</Cd></Sts>"
        booked = f"<BookgDt><Dt>{e.booked}</Dt></BookgDt>" if e.booked else ""
        body.append(
            f'<Ntry><Amt Ccy="EUR">{e.amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>{status}{booked}'
            f"<ValDt><Dt>{e.value}</Dt></ValDt><AcctSvcrRef>{e.reference}</AcctSvcrRef>"
            f"<AddtlNtryInf>{e.text}</AddtlNtryInf></Ntry>"
        )
    entries_xml = "\n".join(body)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-03-04T23:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
{entries_xml}
</Stmt></BkToCstmrStmt></Document>
"""


MONDAY = [
    Entry("R1", "25.00", "PDNG", None),
    Entry("R2", "9.99", "BOOK", date(2026, 3, 2)),
]
TUESDAY = [
    Entry("R1", "25.00", "BOOK", date(2026, 3, 3)),
    Entry("R3", "4.20", "BOOK", date(2026, 3, 3)),
]


def _file(tmp_path: Path, name: str, entries: list[Entry], version: str = "08") -> Path:
    path = tmp_path / name
    path.write_text(camt(entries, version=version))
    return path


def _import(store: Store, path: Path) -> FileReport:
    report = import_file(store, ImportJob(path, "bank", ACCOUNT, "camt053"), run_id="t")
    assert report.problems == []
    return report


def _rows(store: Store) -> list[tuple[object, ...]]:
    return store.con.execute(
        "SELECT external_id, posted_date, amount_minor, pending FROM bank_transactions ORDER BY ALL"
    ).fetchall()


BOOKED = [
    ("R1", date(2026, 3, 3), -2500, False),
    ("R2", date(2026, 3, 2), -999, False),
    ("R3", date(2026, 3, 3), -420, False),
]


@pytest.mark.parametrize("version", ["02", "08"])
def test_both_ways_of_writing_the_status_are_read(tmp_path: Path, version: str) -> None:
    extract = CamtImporter().extract(_file(tmp_path, "mon.xml", MONDAY, version), currency="EUR")
    assert extract.rows.select("external_id", "pending").rows() == [("R1", True), ("R2", False)]


def test_a_later_files_booked_entry_replaces_the_stored_pending_row(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        _import(store, _file(tmp_path, "mon.xml", MONDAY, "02"))
        assert _rows(store)[0] == ("R1", date(2026, 3, 2), -2500, True)
        report = _import(store, _file(tmp_path, "tue.xml", TUESDAY))
        assert _rows(store) == BOOKED
        assert (report.rows_new, report.rows_known, report.rows_booked) == (1, 1, 1)
        assert "1 pending row now booked" in report.notes
        event = store.con.execute(
            "SELECT event, external_id, successor_txn_id = txn_id, json_extract(old_row, '$.pending') "
            "FROM bank_row_events"
        ).fetchall()
        assert event == [("booked", "R1", True, "true")]
        source = store.con.execute("SELECT source_file FROM bank_transactions WHERE external_id = 'R1'").fetchall()
        assert source == [(str(tmp_path / "tue.xml"),)]


@pytest.mark.parametrize("order", [("mon", "tue"), ("tue", "mon")])
def test_every_file_read_again_in_any_order_adds_nothing_and_never_unbooks(
    tmp_path: Path, order: tuple[str, ...]
) -> None:
    files = {"mon": _file(tmp_path, "mon.xml", MONDAY), "tue": _file(tmp_path, "tue.xml", TUESDAY)}
    with open_store(tmp_path / "s.duckdb") as store:
        for name in (*order, *order, *reversed(order)):
            _import(store, files[name])
        assert _rows(store) == BOOKED
        assert store.con.execute("SELECT count(*) FROM bank_row_events").fetchall() == [
            (1 if order[0] == "mon" else 0,)
        ]


def test_pending_and_booked_with_one_reference_in_one_file_are_one_booked_row(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        _import(store, _file(tmp_path, "week.xml", [*MONDAY, *TUESDAY]))
        assert _rows(store) == BOOKED


def _match(store: Store, reference: str, *, origin: str, status: str, ledger_amount: int) -> None:
    txn_id = store.con.execute("SELECT txn_id FROM bank_transactions WHERE external_id = ?", [reference]).fetchall()
    store.con.execute(
        "INSERT INTO ledger_entries (entry_id, account_id, posted_date, amount_minor, currency, description, "
        "source_file, batch_id) VALUES (?, 'main', '2026-03-02', ?, 'EUR', 'card', 'gl.csv', 'b')",
        [f"E-{reference}", ledger_amount],
    )
    store.con.execute(
        "INSERT INTO matches VALUES (?, 'main', ?, '1:1', 0.95, 'amount', ?, NULL, now())",
        [f"M-{reference}", status, origin],
    )
    store.con.execute(
        "INSERT INTO match_links VALUES (?, ?, ?, 0, 0)", [f"M-{reference}", txn_id[0][0], f"E-{reference}"]
    )


@pytest.mark.parametrize(("origin", "status", "kept"), [("person", "confirmed", True), ("engine", "auto", False)])
def test_a_persons_match_on_the_pending_row_is_kept_an_engine_match_is_scored_again(
    tmp_path: Path, origin: str, status: str, kept: bool
) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        _import(store, _file(tmp_path, "mon.xml", MONDAY))
        _match(store, "R1", origin=origin, status=status, ledger_amount=-2500)
        _import(store, _file(tmp_path, "tue.xml", TUESDAY))  # booked a day later than the pending value date
        links = store.con.execute("SELECT match_id, date_diff_days FROM match_links").fetchall()
        action = store.con.execute("SELECT match_action FROM bank_row_events").fetchall()
    assert links == ([("M-R1", 1)] if kept else [])
    assert action == [("kept" if kept else "dropped",)]


def test_what_names_a_pending_row_stays_when_it_is_booked_under_its_own_id(tmp_path: Path) -> None:
    """Booking keeps the row (same id): it is not gone, so its categorization and open item stay."""
    with open_store(tmp_path / "s.duckdb") as store:
        _import(store, _file(tmp_path, "mon.xml", MONDAY))
        (txn_id,) = store.con.execute("SELECT txn_id FROM bank_transactions WHERE external_id = 'R1'").fetchone() or ()
        set_by_person(store, txn_id, category="Expenses:Travel")
        store.con.execute("INSERT INTO open_items VALUES ('bank', ?, 'main', 'no_candidate', 'r')", [txn_id])
        _import(store, _file(tmp_path, "tue.xml", TUESDAY))
        assert store.con.execute("SELECT pending FROM bank_transactions WHERE txn_id = ?", [txn_id]).fetchall() == [
            (False,)
        ]
        category = store.con.execute("SELECT origin, category FROM categorizations WHERE txn_id = ?", [txn_id])
        assert category.fetchall() == [("person", "Expenses:Travel")]
        assert store.con.execute("SELECT count(*) FROM open_items WHERE row_id = ?", [txn_id]).fetchall() == [(1,)]


@pytest.mark.slow
def test_the_cli_says_a_pending_row_is_now_booked_and_the_run_log_counts_it(tmp_path: Path) -> None:
    (tmp_path / "bank").mkdir()
    (tmp_path / "recon.toml").write_text(
        '[store]\npath = "recon.duckdb"\n\n[[accounts]]\nid = "main"\ncurrency = "EUR"\n\n'
        '[[sources]]\naccount = "main"\nformat = "camt053"\npaths = ["bank/*.xml"]\n'
    )
    _file(tmp_path / "bank", "1-mon.xml", MONDAY)
    first = recon("import", "--config", tmp_path / "recon.toml")
    _file(tmp_path / "bank", "2-tue.xml", TUESDAY)
    second = recon("import", "--config", tmp_path / "recon.toml")
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert "1 pending row now booked" in second.stderr + second.stdout
    with duckdb.connect(str(tmp_path / "recon.duckdb"), read_only=True) as con:
        (summary,) = con.execute("SELECT summary FROM runs ORDER BY started_at DESC LIMIT 1").fetchall()
    inputs = {Path(i["file"]).name: i for i in json.loads(summary[0])["import"]["inputs"]}
    assert (inputs["2-tue.xml"]["booked"], inputs["2-tue.xml"]["new"]) == (1, 1)
    assert count(tmp_path / "recon.duckdb", "SELECT count(*) FROM bank_transactions WHERE pending") == 0
