"""CAMT.053/054 import: every corpus file read as the bank wrote it, bad XML refused with its location.

Expected values were read by eye from the corpus files (line numbers are those of the
`<Ntry>` / `<TxDtls>` start tags there).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import BANK_IMPORTERS, detect
from importers.base import Extract
from importers.camt import CamtImporter
from recon.errors import Problem

CAMT = CamtImporter()


def _read(corpus: Path, name: str) -> Extract:
    extract = CAMT.extract(corpus / "camt053" / name, currency="EUR")
    assert extract.problems == []
    return extract


def _balances(extract: Extract) -> list[tuple[str, date, int, str]]:
    return [(b.kind, b.as_of, b.amount_minor, b.currency) for b in extract.balances]


def _doc(entries: str, *, version: str = "053.001.08", message: str = "BkToCstmrStmt", statement: str = "Stmt") -> str:
    """A small CAMT document around `entries`, with OPBD/CLBD balances of 100.00 EUR."""
    balances = "".join(
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy='EUR'>100.00</Amt>"
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-0{day}</Dt></Dt></Bal>"
        for code, day in (("OPBD", 1), ("CLBD", 2))
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{version}">\n'
        f"<{message}><GrpHdr><MsgId>M1</MsgId></GrpHdr>\n<{statement}><Id>S1</Id>"
        f"<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>\n{balances}\n{entries}\n"
        f"</{statement}></{message}></Document>\n"
    )


def _entry(amount: str = "12.50", direction: str = "DBIT", status: str = "<Sts>BOOK</Sts>", extra: str = "") -> str:
    return (
        f"<Ntry><Amt Ccy='EUR'>{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>{status}"
        f"<BookgDt><Dt>2026-03-02</Dt></BookgDt><ValDt><Dt>2026-03-03</Dt></ValDt>{extra}</Ntry>"
    )


def _write(tmp_path: Path, text: str, name: str = "statement.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the corpus, file by file ----------------------------------------------------------


def test_genkgo_v2_five_decimals_reads_three_decimal_amounts_exactly(corpus: Path) -> None:
    extract = _read(corpus, "genkgo-camt053.v2.five.decimals.xml")
    assert extract.rows.height == 1
    row = extract.rows.row(0, named=True)
    # <Amt Ccy="EUR">8.850</Amt> CRDT: a third decimal that is zero is still an exact cent amount
    assert (row["posted_date"], row["value_date"], row["amount_minor"]) == (date(2014, 12, 31), date(2015, 1, 2), 885)
    assert (row["description"], row["reference"], row["source_line"]) == ("Transaction Description", "000000001", 61)
    assert _balances(extract) == [
        ("opening", date(2014, 12, 30), 1815, "EUR"),  # 18.150
        ("closing", date(2014, 12, 31), 2705, "EUR"),  # 27.050
    ]
    # the template's balances move by 8.90 while its one entry is 8.85: the file itself disagrees
    opening, closing = _balances(extract)
    assert closing[2] - opening[2] == 890
    assert extract.rows["amount_minor"].sum() == 885


def test_genkgo_v2_minimal_takes_payee_and_creditor_reference(corpus: Path) -> None:
    extract = _read(corpus, "genkgo-camt053.v2.minimal.xml")
    assert extract.rows.height == 1
    row = extract.rows.row(0, named=True)
    assert (row["posted_date"], row["amount_minor"], row["currency"]) == (date(2014, 12, 31), 885, "EUR")
    # no remittance text: the counterparty (the debtor of money received) describes it
    assert (row["description"], row["payee"], row["reference"]) == ("NAME NAME", "NAME NAME", "4654654654654654")
    assert row["source_element"] == "Stmt[1]/Ntry[1]"
    assert row["source_line"] == 90
    assert extract.file_accounts == ["NL26VAYB8060476890"]
    # OPAV is not one of the kinds recon keeps; each balance keeps its own currency and sign
    assert _balances(extract) == [
        ("opening", date(2014, 12, 30), 1815, "EUR"),
        ("closing", date(2014, 12, 31), -2700, "SEK"),
        ("available", date(2014, 12, 31), -2700, "JPY"),  # 2700 yen, DBIT
    ]


def test_genkgo_v2_multi_statement_gives_rows_and_balances_of_both_statements(corpus: Path) -> None:
    extract = _read(corpus, "genkgo-camt053.v2.multi.statement.xml")
    rows = extract.rows.select("source_element", "amount_minor", "description", "payee").rows()
    assert rows == [
        ("Stmt[1]/Ntry[1]", 885, "Transaction Description 1", "Company Name 1"),
        ("Stmt[2]/Ntry[1]", -700, "Transaction Description 2", "Company Name 2"),
    ]
    balances = _balances(extract)
    assert balances == [
        ("opening", date(2014, 12, 30), 1815, "EUR"),
        ("closing", date(2014, 12, 31), 2700, "EUR"),
        ("opening", date(2014, 12, 30), 2700, "EUR"),
        ("closing", date(2014, 12, 31), 2000, "EUR"),
    ]
    # each statement's entries add up to its closing minus opening balance
    assert rows[0][1] == balances[1][2] - balances[0][2]
    assert rows[1][1] == balances[3][2] - balances[2][2]


def test_genkgo_v4_uses_account_servicer_reference_as_external_id(corpus: Path) -> None:
    extract = _read(corpus, "genkgo-camt053.v4.xml")
    row = extract.rows.row(0, named=True)
    assert extract.rows.height == 1
    assert (row["external_id"], row["transaction_type"]) == ("AAAASESS-FP-CN_98765/01", "PAYM/0001/0005")
    assert (row["posted_date"], row["amount_minor"], row["pending"]) == (date(2014, 12, 31), 885, False)


def test_genkgo_v8_reads_status_code_and_booking_datetime(corpus: Path) -> None:
    extract = _read(corpus, "genkgo-camt053.v8.xml")
    row = extract.rows.row(0, named=True)
    assert extract.rows.height == 1
    # <Sts><Cd>BOOK</Cd></Sts> and <BookgDt><DtTm>2014-12-31T13:15:00+01:00</DtTm>
    assert (row["pending"], row["posted_date"], row["value_date"]) == (False, date(2014, 12, 31), date(2015, 1, 2))
    assert (row["reference"], row["transaction_type"]) == ("MUELL/FINP/RA12345", "PMNT/RCDT/BOOK")
    assert json.loads(row["raw"])["status"] == "BOOK"


def test_oca_booking_datetime_keeps_the_calendar_date_as_written(corpus: Path) -> None:
    extract = _read(corpus, "oca-test-camt053-bookgdt-dttm.xml")
    assert extract.rows.height == 1
    row = extract.rows.row(0, named=True)
    # <DtTm>2014-01-04T23:00:00.000Z</DtTm>: no time-zone guessing, the date the bank wrote
    assert (row["posted_date"], row["value_date"], row["amount_minor"]) == (date(2014, 1, 4), date(2014, 1, 5), -75425)
    assert row["description"] == "Insurance policy 857239PERIOD 01.01.2014 - 31.12.2014"
    assert (row["payee"], row["reference"]) == ("INSURANCE COMPANY TESTX", "435005714488-ABNO33052620")


def test_oca_statement_without_entries_gives_only_balances(corpus: Path) -> None:
    extract = _read(corpus, "oca-test-camt053-no-ntry.xml")
    assert extract.rows.height == 0
    assert _balances(extract) == [
        ("opening", date(2014, 1, 5), 152076, "CHF"),
        ("closing", date(2014, 1, 5), 152076, "CHF"),
    ]


def test_oca_batch_entry_with_amounts_per_transaction_is_split(corpus: Path) -> None:
    extract = _read(corpus, "oca-test-camt053-txdtls.xml")
    rows = extract.rows.select("source_element", "source_line", "external_id", "amount_minor", "reference").rows()
    assert rows == [
        (
            "Stmt[1]/Ntry[1]/NtryDtls[1]/TxDtls[1]", 79,
            "20170323001234567891234567891234#1", 218700, "302388292000011111111111111",
        ),
        (
            "Stmt[1]/Ntry[1]/NtryDtls[1]/TxDtls[2]", 144,
            "20170323001234567891234567891234#2", 129600, "302388292000022222222222222",
        ),
    ]  # fmt: skip
    first = extract.rows.row(0, named=True)
    assert (first["posted_date"], first["value_date"], first["currency"]) == (
        date(2017, 3, 22),
        date(2017, 3, 23),
        "CHF",
    )
    assert first["payee"] == "Banque Cantonale Vaudoise"
    assert first["description"].startswith("CRÉDIT GROUPÉ BVR")
    # OPBD 75960.15 -> CLBD 79443.15: the split rows still add up to the statement's movement
    assert _balances(extract)[1][2] - _balances(extract)[0][2] == extract.rows["amount_minor"].sum() == 348300


def test_oca_reversed_batch_is_split_and_marked_reversal(corpus: Path) -> None:
    extract = _read(corpus, "oca-test-camt053.xml")
    rows = extract.rows.select("source_line", "amount_minor", "transaction_type", "reference").rows()
    assert rows == [
        (50, -75425, "PMNT/RDDT/ESDD", "435005714488-ABNO33052620"),
        # Ntry 664.05 DBIT with RvslInd true: CdtDbtInd already is the reversal's direction
        (144, -56405, "PMNT/IDDT/UPDD reversal", "TESTBANK/NL/20141229/01206408"),
        (185, -10000, "PMNT/IDDT/UPDD reversal", "TESTBANK/NL/20141229/01206407"),
        (228, 140531, "PMNT/RCDT/ESCT", "115"),
    ]
    first, last = extract.rows.row(0, named=True), extract.rows.row(-1, named=True)
    assert first["description"] == "Insurance policy 857239PERIOD 01.01.2014 - 31.12.2014"
    assert (last["description"], last["payee"]) == ("#RD PARTY MEDIA CUSNO 90782 4210773", "3rd party Media")
    assert json.loads(extract.rows["raw"][1])["reversal"] is True
    assert _balances(extract) == [
        ("opening", date(2014, 1, 5), 1556827, "EUR"),
        ("closing", date(2014, 1, 5), 1512112, "EUR"),
    ]
    # this OCA test statement does not balance: its entries move -12.99, its balances -447.15
    assert extract.rows["amount_minor"].sum() == -1299
    assert extract.balances[1].amount_minor - extract.balances[0].amount_minor == -44715


def test_every_corpus_file_is_detected_as_camt(corpus: Path) -> None:
    for path in sorted((corpus / "camt053").iterdir()):
        found = detect(path, "bank")
        assert found is not None, path.name
        assert found.format == "camt053", path.name
    assert BANK_IMPORTERS["camt053"].format == "camt053"


# --- generated documents: versions, status, sign -----------------------------------------


def test_pending_entry_without_booking_date_is_posted_on_its_value_date(tmp_path: Path) -> None:
    entry = (
        "<Ntry><Amt Ccy='EUR'>5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>"
        "<ValDt><Dt>2026-03-04</Dt></ValDt></Ntry>"
    )
    extract = CAMT.extract(_write(tmp_path, _doc(entry)), currency="EUR")
    assert extract.problems == []
    row = extract.rows.row(0, named=True)
    assert (row["pending"], row["posted_date"], row["amount_minor"]) == (True, date(2026, 3, 4), 500)


def test_camt054_notification_and_prefixed_namespace_are_read(tmp_path: Path) -> None:
    text = _doc(_entry(), version="054.001.04", message="BkToCstmrDbtCdtNtfctn", statement="Ntfctn")
    prefixed = text.replace("<Document xmlns=", "<c:Document xmlns:c=").replace("</Document>", "</c:Document>")
    for name, body in (("notification.xml", text), ("prefixed.xml", prefixed)):
        path = _write(tmp_path, body, name)
        assert CAMT.identify(path)
        extract = CAMT.extract(path, currency="EUR")
        assert extract.problems == []
        assert extract.rows["source_element"].to_list() == ["Ntfctn[1]/Ntry[1]"]
        assert extract.rows["amount_minor"].to_list() == [-1250]


def test_repeated_account_servicer_reference_falls_back_to_content_hash(tmp_path: Path) -> None:
    same = "<AcctSvcrRef>REF-1</AcctSvcrRef>"
    extract = CAMT.extract(_write(tmp_path, _doc(_entry(extra=same) + _entry(extra=same))), currency="EUR")
    # keeping 'REF-1' twice would make recon store only one of two real transactions
    assert extract.rows["external_id"].to_list() == [None, None]


def test_batch_whose_details_do_not_add_up_stays_one_row(tmp_path: Path) -> None:
    details = (
        "<NtryDtls><TxDtls><Amt Ccy='EUR'>10.00</Amt></TxDtls><TxDtls><Amt Ccy='EUR'>2.00</Amt></TxDtls></NtryDtls>"
    )
    extract = CAMT.extract(_write(tmp_path, _doc(_entry(extra=details))), currency="EUR")
    assert extract.rows["amount_minor"].to_list() == [-1250]


# --- refusals ------------------------------------------------------------------------------


def _only_problem(extract: Extract) -> Problem:
    assert extract.rows.height == 0 or extract.problems
    assert len(extract.problems) == 1, extract.problems
    return extract.problems[0]


def test_bad_amount_is_refused_with_element_line_and_field(tmp_path: Path) -> None:
    extract = CAMT.extract(_write(tmp_path, _doc(_entry(amount="12,50"))), currency="EUR")
    problem = _only_problem(extract)
    # `_doc` writes the entries on line 6
    assert (problem.field, problem.element, problem.line) == ("Amt", "Stmt[1]/Ntry[1]/Amt", 6)
    expected = f"{tmp_path / 'statement.xml'}:6: Stmt[1]/Ntry[1]/Amt: field 'Amt': '12,50' is not a number"
    assert str(problem) == expected


def test_amount_with_more_decimals_than_the_currency_is_refused(tmp_path: Path) -> None:
    problem = _only_problem(CAMT.extract(_write(tmp_path, _doc(_entry(amount="1.005"))), currency="EUR"))
    assert problem.field == "Amt"
    assert "more than 2 decimals" in problem.message


def test_unknown_direction_is_refused(tmp_path: Path) -> None:
    problem = _only_problem(CAMT.extract(_write(tmp_path, _doc(_entry(direction="DEBIT"))), currency="EUR"))
    assert (problem.field, problem.element) == ("CdtDbtInd", "Stmt[1]/Ntry[1]")


def test_truncated_xml_is_refused_with_its_line(tmp_path: Path) -> None:
    text = _doc(_entry())
    path = _write(tmp_path, text[: text.index("<BookgDt>")])
    problem = _only_problem(CAMT.extract(path, currency="EUR"))
    assert problem.line is not None
    assert problem.line >= 5
    assert "not well-formed XML" in problem.message


def test_xml_bomb_is_refused_without_expanding_it(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE Document [\n <!ENTITY a "aaaaaaaaaa">\n'
        + "".join(f' <!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(9))
        + ']>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<Stmt><Ntry><Amt Ccy='EUR'>&j;</Amt></Ntry></Stmt></BkToCstmrStmt></Document>\n"
    )
    problem = _only_problem(CAMT.extract(_write(tmp_path, bomb), currency="EUR"))
    assert problem.line == 2
    assert "DTD or entities" in problem.message


def test_xml_that_is_not_camt_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path, '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn/></Document>'
    )
    assert not CAMT.identify(path)
    problem = _only_problem(CAMT.extract(path, currency="EUR"))
    assert "not a CAMT.052/053/054 document" in problem.message
    assert "CstmrCdtTrfInitn" in problem.message


_VALID = _doc(_entry() + _entry(amount="3.00", direction="CRDT", extra="<AcctSvcrRef>X</AcctSvcrRef>"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.integers(min_value=0, max_value=len(_VALID)),
    junk=st.text(alphabet="<>/&;'\"=abc ÿ1.-\n", max_size=30),
)
def test_damaged_documents_give_problems_never_a_traceback(tmp_path: Path, cut: int, junk: str) -> None:
    path = _write(tmp_path, _VALID[:cut] + junk + _VALID[cut:])
    extract = CAMT.extract(path, currency="EUR")
    assert all(isinstance(p, Problem) for p in extract.problems)
    assert extract.rows.height <= 2


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_give_problems_never_a_traceback(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "garbage.xml"
    path.write_bytes(data)
    extract = CAMT.extract(path, currency="EUR")
    assert extract.problems
    assert extract.rows.height == 0


@pytest.mark.parametrize("name", ["oca-test-camt053.xml", "oca-test-camt053-txdtls.xml"])
def test_rows_are_in_the_bank_extract_schema(corpus: Path, name: str) -> None:
    from recon.model import BANK_EXTRACT

    rows = _read(corpus, name).rows
    # the extract schema, plus the statement's account number for routing multi-account files
    assert rows.drop("file_account", strict=False).schema == BANK_EXTRACT.polars_schema


def test_importing_a_statement_twice_stores_its_rows_and_balances_once(corpus: Path, tmp_path: Path) -> None:
    from recon.config import AccountSettings
    from recon.importing import ImportJob, import_file
    from recon.store import open_store

    path = corpus / "camt053" / "oca-test-camt053-txdtls.xml"
    with open_store(tmp_path / "s.duckdb") as store:
        job = ImportJob(path, "bank", AccountSettings(id="chf", currency="CHF"), "camt053")
        first = import_file(store, job, run_id="r1")
        again = import_file(store, job, run_id="r2")
        stored = store.con.execute("SELECT count(*), sum(amount_minor) FROM bank_transactions").fetchone()
        balances = store.con.execute("SELECT count(*) FROM statement_balances").fetchone()
    assert (first.problems, first.rows_new, first.balances) == ([], 2, 2)
    assert (again.rows_new, again.rows_known) == (0, 2)
    assert stored == (2, 348300)
    assert balances == (2,)
