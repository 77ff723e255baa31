"""OFX CORRECTACTION: a transaction that replaces or deletes an earlier one, in the same file or an earlier one.

OFX 2.x lets a bank correct a transaction it sent before: a <STMTTRN> with
<CORRECTFITID> (the FITID of the earlier transaction) and <CORRECTACTION> REPLACE (this
record takes its place) or DELETE (it goes). The corrected row must not stay beside its
correction (a doubled transaction), the earlier file read again must not bring it back,
and the correcting file read again must change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from importers.ofx import OfxImporter
from recon.config import AccountSettings, MatchingSettings
from recon.importing import FileReport, ImportJob, import_file
from recon.matching import run_matching
from recon.store import Store, open_store
from tests.rules_support import set_by_person

ACCOUNT = AccountSettings(id="checking", currency="USD")


@dataclass(frozen=True)
class Txn:
    fitid: str
    amount: str
    name: str
    posted: date = date(2026, 7, 1)
    correct_fitid: str = ""
    correct_action: str = ""


def ofx2(txns: list[Txn], *, account: str = "42") -> str:
    """An OFX 2.x (XML) bank statement of `txns`, in that order."""
    body = []
    for t in txns:
        correction = ""
        if t.correct_fitid:
            correction = (
                f"<CORRECTFITID>{t.correct_fitid}</CORRECTFITID><CORRECTACTION>{t.correct_action}</CORRECTACTION>"
            )
        body.append(
            f"<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>{t.posted:%Y%m%d}120000</DTPOSTED>"
            f"<TRNAMT>{t.amount}</TRNAMT><FITID>{t.fitid}</FITID>{correction}<NAME>{t.name}</NAME></STMTTRN>"
        )
    rows = "\n".join(body)
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<DTSERVER>20260710120000</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<STMTRS><CURDEF>USD</CURDEF><BANKACCTFROM><BANKID>121000248</BANKID><ACCTID>{account}</ACCTID>
<ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>
<BANKTRANLIST><DTSTART>20260701</DTSTART><DTEND>20260710</DTEND>
{rows}
</BANKTRANLIST>
<LEDGERBAL><BALAMT>100.00</BALAMT><DTASOF>20260710120000</DTASOF></LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


ORIGINAL = [Txn("A1", "-12.00", "GROCER"), Txn("A2", "-40.00", "FUEL"), Txn("A3", "-5.00", "COFFEE")]
# A1 was really 21.00; A3 never happened
CORRECTING = [
    Txn("B1", "-21.00", "GROCER", correct_fitid="A1", correct_action="REPLACE"),
    Txn("B3", "-5.00", "COFFEE", correct_fitid="A3", correct_action="DELETE"),
    Txn("B4", "-7.00", "BAKERY"),
]


def _file(tmp_path: Path, name: str, txns: list[Txn]) -> Path:
    path = tmp_path / name
    path.write_text(ofx2(txns))
    return path


def _import(store: Store, path: Path) -> FileReport:
    report = import_file(store, ImportJob(path, "bank", ACCOUNT, "ofx"), run_id="t")
    assert report.problems == []
    return report


def _rows(store: Store) -> list[tuple[object, ...]]:
    return store.con.execute("SELECT external_id, amount_minor FROM bank_transactions ORDER BY ALL").fetchall()


CORRECTED = [("A2", -4000), ("B1", -2100), ("B4", -700)]


def test_within_a_file_corrections_apply_in_order(tmp_path: Path) -> None:
    txns = [
        *ORIGINAL,
        Txn("C1", "-22.00", "GROCER", correct_fitid="A1", correct_action="REPLACE"),
        Txn("C2", "-22.50", "GROCER", correct_fitid="C1", correct_action="REPLACE"),  # a correction corrected
        Txn("C3", "-5.00", "COFFEE", correct_fitid="A3", correct_action="DELETE"),
    ]
    extract = OfxImporter().extract(_file(tmp_path, "one.ofx", txns), currency="USD")
    assert extract.problems == []
    assert extract.rows.select("external_id", "amount_minor").rows() == [("A2", -4000), ("C2", -2250)]
    assert [(c.action, c.external_id, c.successor_external_id) for c in extract.corrections] == [
        ("replace", "A1", "C1"),
        ("replace", "C1", "C2"),
        ("delete", "A3", None),
    ]
    with open_store(tmp_path / "s.duckdb") as store:
        _import(store, tmp_path / "one.ofx")
        assert _rows(store) == [("A2", -4000), ("C2", -2250)]
        # the original file read later brings back neither A1 nor A3
        _import(store, _file(tmp_path, "original.ofx", ORIGINAL))
        assert _rows(store) == [("A2", -4000), ("C2", -2250)]


def test_a_later_file_replaces_and_deletes_stored_rows_and_keeps_their_history(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        _import(store, _file(tmp_path, "july.ofx", ORIGINAL))
        report = _import(store, _file(tmp_path, "fix.ofx", CORRECTING))
        assert _rows(store) == CORRECTED
        assert (report.rows_new, report.rows_replaced, report.rows_deleted) == (2, 1, 1)
        assert "1 row replaced by a correction (OFX CORRECTACTION REPLACE)" in report.notes
        events = store.con.execute(
            "SELECT event, external_id, successor_external_id, old_amount_minor, new_amount_minor, "
            "json_extract_string(old_row, '$.description') FROM bank_row_events ORDER BY external_id"
        ).fetchall()
        assert events == [
            ("replaced", "A1", "B1", -1200, -2100, "GROCER"),
            ("deleted", "A3", None, -500, None, "COFFEE"),
        ]


@pytest.mark.parametrize("order", [("july", "fix"), ("fix", "july")])
def test_every_file_read_twice_in_any_order_adds_nothing(tmp_path: Path, order: tuple[str, str]) -> None:
    files = {"july": _file(tmp_path, "july.ofx", ORIGINAL), "fix": _file(tmp_path, "fix.ofx", CORRECTING)}
    with open_store(tmp_path / "s.duckdb") as store:
        for name in order:
            _import(store, files[name])
        assert _rows(store) == CORRECTED
        events = store.con.execute("SELECT count(*) FROM bank_row_events").fetchall()[0]
        for name in (*order, *order):
            report = _import(store, files[name])
            assert report.rows_new == 0
        assert _rows(store) == CORRECTED
        assert store.con.execute("SELECT count(*) FROM bank_row_events").fetchall()[0] == events


def test_a_replacement_under_the_same_fitid_updates_the_row(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        _import(store, _file(tmp_path, "july.ofx", ORIGINAL))
        fix = [Txn("A1", "-21.00", "GROCER", correct_fitid="A1", correct_action="REPLACE")]
        report = _import(store, _file(tmp_path, "fix.ofx", fix))
        assert report.rows_replaced == 1
        assert _rows(store) == [("A1", -2100), ("A2", -4000), ("A3", -500)]
        _import(store, tmp_path / "july.ofx")
        _import(store, tmp_path / "fix.ofx")
        assert _rows(store) == [("A1", -2100), ("A2", -4000), ("A3", -500)]
        assert store.con.execute("SELECT count(*) FROM bank_row_events").fetchall()[0] == (1,)


def _match(store: Store, txn_external_id: str, *, origin: str, status: str) -> None:
    txn_id = store.con.execute(
        "SELECT txn_id FROM bank_transactions WHERE external_id = ?", [txn_external_id]
    ).fetchall()[0]
    assert txn_id is not None
    store.con.execute(
        "INSERT INTO ledger_entries (entry_id, account_id, posted_date, amount_minor, currency, description, "
        "source_file, batch_id) VALUES (?, 'checking', '2026-07-01', -1200, 'USD', 'groceries', 'gl.csv', 'b')",
        [f"E-{txn_external_id}"],
    )
    store.con.execute(
        "INSERT INTO matches VALUES (?, 'checking', ?, '1:1', 0.95, 'amount', ?, NULL, now())",
        [f"M-{txn_external_id}", status, origin],
    )
    store.con.execute(
        "INSERT INTO match_links VALUES (?, ?, ?, 0, 0)", [f"M-{txn_external_id}", txn_id[0], f"E-{txn_external_id}"]
    )


def test_a_persons_match_moves_to_the_replacement_and_an_engine_match_on_a_deleted_row_goes(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        _import(store, _file(tmp_path, "july.ofx", ORIGINAL))
        _match(store, "A1", origin="person", status="confirmed")
        _match(store, "A3", origin="engine", status="auto")
        _import(store, _file(tmp_path, "fix.ofx", CORRECTING))
        links = store.con.execute(
            "SELECT l.match_id, b.external_id, l.amount_diff_minor FROM match_links l "
            "JOIN bank_transactions b ON b.txn_id = l.bank_txn_id ORDER BY ALL"
        ).fetchall()
        actions = store.con.execute(
            "SELECT external_id, match_action FROM bank_row_events ORDER BY external_id"
        ).fetchall()
        assert links == [("M-A1", "B1", -900)]
        assert store.con.execute("SELECT match_id FROM matches").fetchall() == [("M-A1",)]
        assert actions == [("A1", "carried"), ("A3", "dropped")]


def _by_row(store: Store, sql: str) -> dict[str, tuple[object, ...]]:
    """external_id -> the rest of each row of `sql` (its first column is a txn_id)."""
    external = dict(store.con.execute("SELECT txn_id, external_id FROM bank_transactions").fetchall())
    return {external.get(row[0], row[0]): row[1:] for row in store.con.execute(sql).fetchall()}


def test_a_gone_rows_open_item_and_flags_go_and_a_persons_category_moves_to_the_replacement(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        _import(store, _file(tmp_path, "july.ofx", ORIGINAL))
        run_matching(store, settings=MatchingSettings(), run_id="before")  # no ledger: every bank row open
        txn = {r[1]: r[0] for r in store.con.execute("SELECT txn_id, external_id FROM bank_transactions").fetchall()}
        set_by_person(store, txn["A1"], category="Expenses:Groceries", memo="receipt in the drawer")
        set_by_person(store, txn["A3"], category="Expenses:Coffee")
        for row, duplicate_of in (("A3", "A2"), ("A2", "A1")):  # a flag of a gone row, a flag pointing at one
            store.con.execute(
                "INSERT INTO duplicates VALUES ('bank', ?, ?, 'checking', 'same amount and day', 'flagged', 'r')",
                [txn[row], txn[duplicate_of]],
            )
        assert set(_by_row(store, "SELECT row_id FROM open_items")) == {"A1", "A2", "A3"}

        _import(store, _file(tmp_path, "fix.ofx", CORRECTING))

        # the replaced A1 and the deleted A3 are named nowhere; A2's open item stays
        assert set(_by_row(store, "SELECT row_id FROM open_items")) == {"A2"}
        assert store.con.execute("SELECT count(*) FROM duplicates").fetchall() == [(0,)]
        # A1's category, as the person said it, now belongs to its replacement B1; A3's went with it
        assert _by_row(store, "SELECT txn_id, origin, category, memo FROM categorizations") == {
            "B1": ("person", "Expenses:Groceries", "receipt in the drawer")
        }


def test_a_correction_without_a_valid_action_is_refused_with_its_line(tmp_path: Path) -> None:
    bad = [Txn("B1", "-21.00", "GROCER", correct_fitid="A1", correct_action="UNDO")]
    extract = OfxImporter().extract(_file(tmp_path, "bad.ofx", bad), currency="USD")
    assert [(p.line, p.field) for p in extract.problems] == [(9, "CORRECTACTION")]


def test_corpus_replacement_under_its_own_fitid_is_one_row_and_twice_adds_nothing(corpus: Path, tmp_path: Path) -> None:
    path = corpus / "ofx" / "ledger-autosync-accented_characters_latin1.ofx"
    extract = OfxImporter().extract(path, currency="USD")
    assert [(c.action, c.external_id, c.successor_external_id) for c in extract.corrections] == [
        ("replace", "201409206", "201409206")
    ]
    assert extract.rows.filter(pl.col("external_id") == "201409206").height == 1
    with open_store(tmp_path / "s.duckdb") as store:
        first = import_file(store, ImportJob(path, "bank", ACCOUNT, "ofx"), run_id="t")
        again = import_file(store, ImportJob(path, "bank", ACCOUNT, "ofx"), run_id="t")
        events = store.con.execute("SELECT count(*) FROM bank_row_events").fetchall()
    assert (first.problems, first.rows_new, first.rows_replaced) == ([], extract.rows.height, 0)
    assert (again.rows_new, again.rows_known, again.rows_replaced) == (0, extract.rows.height, 0)
    assert events == [(0,)]
