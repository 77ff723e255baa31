"""Every OFX/QFX/QBO file of the real corpus: imported right, or refused with a specific message.

Expected values were read off the files themselves (see the line numbers quoted).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import BANK_IMPORTERS, detect
from importers.base import Extract, StatementBalance
from importers.ofx import OfxImporter
from recon.config import AccountSettings
from recon.importing import ImportJob, import_file
from recon.store import open_store

OFX = OfxImporter()


def extract(corpus: Path, name: str, currency: str = "USD") -> Extract:
    return OFX.extract(corpus / "ofx" / name, currency=currency)


def balances(ex: Extract) -> list[StatementBalance]:
    """The statement balances without their account number (checked where it matters, in routing tests)."""
    return [replace(b, file_account=None) for b in ex.balances]


def first_last(ex: Extract) -> tuple[tuple[object, ...], tuple[object, ...]]:
    cols = ("source_line", "posted_date", "amount_minor", "currency", "description", "external_id")
    rows = ex.rows.select(cols).rows()
    return rows[0], rows[-1]


def test_every_corpus_file_is_identified_as_ofx(corpus: Path) -> None:
    for path in sorted((corpus / "ofx").iterdir()):
        assert OFX.identify(path), path.name
        assert detect(path, "bank") is BANK_IMPORTERS["ofx"], path.name


def test_checking_sgml_with_checknum_and_balances(corpus: Path) -> None:
    ex = extract(corpus, "ofxparse-checking.ofx")
    assert ex.problems == []
    assert ex.rows.height == 3
    first, last = first_last(ex)
    assert first[:4] == (46, date(2011, 3, 31), 1, "USD")
    assert first[4].startswith("DIVIDEND EARNED FOR PERIOD OF 03/01/2011")  # MEMO holds NAME: MEMO alone
    assert last == (62, date(2011, 4, 7), -2500, "USD", last[4], "0000488")
    assert ex.rows["check_number"].to_list() == [None, None, "319"]
    assert ex.rows["transaction_type"].to_list() == ["CREDIT", "DEBIT", "CHECK"]
    assert ex.rows["payee"][1] == "AUTOMATIC WITHDRAWAL, ELECTRIC BILL"
    assert ex.file_accounts == ["1452687~7"]
    assert balances(ex) == [
        StatementBalance("closing", date(2013, 5, 25), 10099, "USD"),
        StatementBalance("available", date(2013, 5, 25), 7599, "USD"),
    ]


def test_latin1_bytes_under_charset_1252_decode_to_accents(corpus: Path) -> None:
    ex = extract(corpus, "ledger-autosync-accented_characters_latin1.ofx")
    assert ex.problems == []
    assert ex.rows["description"].to_list() == ["Virement Interac à: Jean"]
    assert ex.rows["amount_minor"].to_list() == [-5873]
    assert ex.rows["posted_date"].to_list() == [date(2014, 9, 20)]


def test_amex_single_line_sgml_credit_card(corpus: Path) -> None:
    ex = extract(corpus, "beangulp-ofxdownload.ofx")
    assert ex.problems == []
    assert ex.rows.height == 12
    first, last = first_last(ex)
    # the whole body is on line 11; NAME is space-padded and collapsed
    assert first == (11, date(2013, 12, 1), -999, "USD", first[4], "320133350353869664")
    assert first[4].startswith("SPOTIFY USA 28770130901")
    assert last[:3] == (11, date(2013, 12, 16), -700)
    assert balances(ex) == [StatementBalance("closing", date(2013, 12, 18), -235638, "USD")]


def test_bofa_named_amex_file_amounts_without_decimals(corpus: Path) -> None:
    ex = extract(corpus, "beangulp-2013-12-03.bofa.ofx")
    assert ex.problems == []
    assert ex.rows.height == 27
    first, last = first_last(ex)
    assert first[1:3] == (date(2013, 11, 21), -2900)  # TRNAMT '-29'
    assert first[4] == "JEFFREY'S 0252 NEW YORK 0000000681 646-429-8383"
    assert last[1:3] == (date(2013, 11, 14), -2255)
    assert ex.rows["reference"][0] == "320133250213757584"  # REFNUM
    assert balances(ex) == [StatementBalance("closing", date(2013, 12, 3), -209301, "USD")]


def test_qbo_with_three_accounts_reads_all_and_lists_them(corpus: Path) -> None:
    ex = extract(corpus, "beangulp-example.qbo", currency="CAD")
    assert ex.problems == []
    assert ex.file_accounts == ["011016298027", "122384459041", "2542393734236684"]
    assert ex.rows.height == 10 + 4 + 9
    first, last = first_last(ex)
    assert first == (42, date(2013, 6, 26), 10507, "CAD", "MISC PAYMENT QBZUKU VSLINMR", first[5])
    assert last[:4] == (268, date(2013, 8, 3), 12657, "CAD")
    assert StatementBalance("closing", date(2013, 9, 28), 246887, "CAD") in balances(ex)


def test_several_banktranlist_blocks_in_one_statement(corpus: Path) -> None:
    ex = extract(corpus, "oca-test_ofx_iban.ofx")
    assert ex.problems == []
    assert ex.rows["amount_minor"].to_list() == [-8000, -9000, -10000, -9000]  # integer TRNAMT '-80'
    assert ex.rows["external_id"].to_list() == ["219378", "219379", "219380", "219381"]
    assert ex.rows["source_line"].to_list() == [32, 43, 54, 65]
    # the bank statement and an empty credit-card statement: two accounts
    assert ex.file_accounts == ["12345678901", "123412341234"]


def test_suncorp_xml_cdata_and_dates_without_time(corpus: Path) -> None:
    ex = extract(corpus, "ofxparse-suncorp.ofx", currency="AUD")
    assert ex.problems == []
    row = ex.rows.row(0, named=True)
    assert row["posted_date"] == date(2013, 12, 15)
    assert row["amount_minor"] == -1685
    assert row["currency"] == "AUD"
    assert row["description"] == "EFTPOS WDL HANDYWAY ALDI STORE GEELONG WEST VICAU"
    assert row["check_number"] == "0"


def test_nubank_credit_card_with_unclosed_transaction_list(corpus: Path) -> None:
    ex = extract(corpus, "ofxtools-br_nubank_cc.ofx", currency="BRL")
    assert ex.problems == []
    assert ex.rows.height == 6
    first, last = first_last(ex)
    assert first[:5] == (40, date(2024, 3, 23), -1300, "BRL", "-memo-message-")
    assert last[:3] == (80, date(2024, 3, 22), -95900)
    # LEDGERBAL follows a BANKTRANLIST that is never closed
    assert balances(ex) == [StatementBalance("closing", date(2024, 3, 25), -128091, "BRL")]


def test_capital_one_impossible_server_time_and_calendar_dates(corpus: Path) -> None:
    ex = extract(corpus, "reds-capitalonebank-360Checking.qfx")
    assert ex.problems == []
    assert ex.rows.height == 4
    first, last = first_last(ex)
    # DTPOSTED 20230228050000.000: the date the bank wrote, whatever the time
    assert first == (36, date(2023, 2, 28), 1, "USD", "Monthly Interest Paid", "202302283828")
    assert last == (59, date(2023, 1, 12), 44455, "USD", "Deposit from BEAN COUNTERS PAYROLL", "202301121111")
    assert balances(ex) == [StatementBalance("closing", date(2023, 3, 10), 432198, "USD")]


@pytest.mark.parametrize("name", ["beangulp-example.qfx", "ofxparse-investment_401k.ofx"])
def test_investment_statements_are_refused(corpus: Path, name: str) -> None:
    ex = extract(corpus, name)
    assert ex.rows.height == 0
    assert [p.message for p in ex.problems] == [
        "not a bank statement: this OFX file holds an investment statement (INVSTMTRS)"
    ]


def test_missing_empty_and_impossible_dates_name_line_and_field(corpus: Path) -> None:
    ex = extract(corpus, "ofxparse-fail_nice-date_missing.ofx")
    shown = [(p.line, p.field, p.message) for p in ex.problems]
    assert shown == [
        (33, "DTPOSTED", "missing date"),  # the <STMTTRN> without DTPOSTED
        (42, "DTPOSTED", "empty date"),
        (50, "DTPOSTED", "'20120231' is not a date (OFX dates are YYYYMMDD[HHMMSS])"),
    ]
    assert str(ex.problems[0]).startswith(str(corpus / "ofx" / "ofxparse-fail_nice-date_missing.ofx") + ":33:")


def test_dollar_sign_amount_is_refused(corpus: Path) -> None:
    ex = extract(corpus, "ofxparse-fail_nice-decimal_error.ofx")
    assert (37, "TRNAMT", "'$120' is not a number") in [(p.line, p.field, p.message) for p in ex.problems]
    assert (36, "DTPOSTED") in [(p.line, p.field) for p in ex.problems]  # '201120000000': month 20


def test_blank_balances_are_refused(corpus: Path) -> None:
    ex = extract(corpus, "ofxparse-fail_nice-empty_balance.ofx")
    assert [(p.line, p.field, p.message) for p in ex.problems] == [
        (38, "BALAMT", "empty amount"),
        (42, "BALAMT", "empty amount"),
    ]


def test_two_balance_only_accounts_are_read_then_refused_by_the_import(corpus: Path, tmp_path: Path) -> None:
    path = corpus / "ofx" / "ofxparse-multiple_accounts.ofx"
    ex = OFX.extract(path, currency="USD")
    assert ex.rows.height == 0
    assert ex.file_accounts == ["9100", "9200"]
    assert [b.amount_minor for b in ex.balances] == [11100, 22200]
    assert {b.as_of for b in ex.balances} == {date(2012, 6, 3)}  # DTASOF ...[-7:PDT], no UTC shift

    with open_store(tmp_path / "s.duckdb") as store:
        job = ImportJob(path, "bank", AccountSettings(id="chk", currency="USD"), "ofx")
        report = import_file(store, job, run_id="t")
    assert report.refused
    assert "the file holds 2 accounts (9100, 9200)" in str(report.problems[0])


def test_garbage_is_refused_not_raised(tmp_path: Path) -> None:
    for i, content in enumerate([b"", b"OFXHEADER:100\n", b"\xff\xfe<OFX><STMTRS>", b"<OFX><INVSTMTRS></OFX>"]):
        path = tmp_path / f"f{i}.ofx"
        path.write_bytes(content)
        ex = OFX.extract(path, currency="USD")
        assert ex.rows.height == 0
        assert ex.problems, content


OFX_PIECES = st.sampled_from(
    ["<OFX>", "<STMTRS>", "<CCSTMTRS>", "<BANKTRANLIST>", "<STMTTRN>", "</STMTTRN>", "<TRNAMT>", "<DTPOSTED>",
     "<FITID>", "<NAME>", "<LEDGERBAL>", "<BALAMT>", "<DTASOF>", "<ACCTID>", "</STMTRS>", "<![CDATA[", "]]>",
     "20240231", "20240101", "-12.5", "1,5", "$", "\n", " ", "&amp;", "é", "<INVSTMTRS>"]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(OFX_PIECES, max_size=60), noise=st.binary(max_size=40))
def test_random_ofx_text_gives_rows_or_problems_never_a_traceback(
    tmp_path: Path, pieces: list[str], noise: bytes
) -> None:
    path = tmp_path / "random.ofx"
    path.write_bytes("".join(pieces).encode("utf-8") + noise)
    ex = OFX.extract(path, currency="USD")
    assert ex.problems or ex.rows["amount_minor"].null_count() == 0


def test_sgml_variants_written_here(tmp_path: Path) -> None:
    # unclosed STMTTRN aggregates, a decimal comma, an entity, a PAYEE aggregate, DTAVAIL and REFNUM
    path = tmp_path / "variants.ofx"
    path.write_text(
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nCHARSET:1252\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>\n"
        "<CURDEF>EUR<BANKACCTFROM><BANKID>1<ACCTID>FR76 123</BANKACCTFROM>\n"
        "<BANKTRANLIST>\n"
        "<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240131<DTAVAIL>20240201<TRNAMT>-12,50<FITID>a1<NAME>M&amp;S<REFNUM>R-9\n"
        "<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240201235959[+13:NZDT]<TRNAMT>+7<FITID>a2"
        "<PAYEE><NAME>ACME SARL</PAYEE><MEMO>facture 12\n"
        "</BANKTRANLIST><LEDGERBAL><BALAMT>1 000,00<DTASOF>20240201</LEDGERBAL>\n"
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n",
        encoding="cp1252",
    )
    ex = OFX.extract(path, currency="USD")
    rows = ex.rows.select("source_line", "posted_date", "value_date", "amount_minor", "currency", "description")
    assert rows.rows() == [
        (9, date(2024, 1, 31), date(2024, 2, 1), -1250, "EUR", "M&S"),  # line 9: the first <STMTTRN>
        (10, date(2024, 2, 1), None, 700, "EUR", "ACME SARL facture 12"),  # no shift to UTC from +13
    ]
    assert ex.rows["reference"].to_list() == ["R-9", None]
    assert ex.rows["payee"].to_list() == ["M&S", "ACME SARL"]
    assert ex.file_accounts == ["FR76 123"]
    # '1 000,00' is not an OFX amount: refused with its line and field
    assert [(p.line, p.field) for p in ex.problems] == [(11, "BALAMT")]
