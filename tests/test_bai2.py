"""BAI2 import: corpus files read with their control totals checked; bad records refused with line and field.

Expected values were read by eye from the corpus files (line numbers of the `16` records).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import detect
from importers.bai2 import Bai2Importer
from importers.base import Extract
from recon.errors import Problem

BAI2 = Bai2Importer()


def _read(corpus: Path, name: str) -> Extract:
    extract = BAI2.extract(corpus / "bai2" / name, currency="USD")
    assert extract.problems == []
    return extract


def _row(extract: Extract, index: int) -> dict[str, Any]:
    return extract.rows.row(index, named=True)


def _balances(extract: Extract) -> list[tuple[str, date, int, str]]:
    return [(b.kind, b.as_of, b.amount_minor, b.currency) for b in extract.balances]


# --- the corpus, file by file ----------------------------------------------------------


def test_citi_88_continuations_without_slash_and_eof_without_newline(corpus: Path) -> None:
    extract = _read(corpus, "moj-bai2-citi_example.bai2")
    assert extract.rows.height == 1
    assert extract.file_accounts == ["77777777"]
    row = _row(extract, 0)
    # 16,191,001,V,150715,,1234567890,RP12312312312312/ in group 02 as of 150715, GBP
    assert (row["source_line"], row["posted_date"], row["value_date"]) == (4, date(2015, 7, 15), date(2015, 7, 15))
    assert (row["amount_minor"], row["currency"], row["transaction_type"]) == (1, "GBP", "191")
    assert (row["external_id"], row["reference"]) == ("1234567890", "RP12312312312312")
    assert row["description"] == (
        "FR:FP SIP INCOMING ENDT:20150715 TRID:RP12312312312312 PY:RP1231231231231200 A1234BC 22/03/66 "
        "BI:22222222 OB:111111 BUCKINGHAM PALACE OB3:BARCLAYS BANK PLC BO:11111111 BO1:DOE JO"
    )
    assert _balances(extract) == [
        ("opening", date(2015, 7, 15), 10000, "GBP"),
        ("closing", date(2015, 7, 15), 10000, "GBP"),
    ]
    # the sample's ledger balance does not move although it reports a 0.01 credit
    assert extract.rows["amount_minor"].sum() == 1


def test_svb_two_groups_two_days_balances_match_details(corpus: Path) -> None:
    extract = _read(corpus, "moj-bai2-svb_us_example.bai2")
    rows = extract.rows.select("source_line", "posted_date", "amount_minor", "external_id", "description").rows()
    assert rows == [
        (7, date(2022, 2, 1), 490196, "172629", "SOME PAYMENT ACH OFFSET"),
        (16, date(2022, 2, 2), 905800, "150675", "SOME PAYMENT ACH OFFSET"),
    ]
    assert extract.rows["transaction_type"].to_list() == ["142", "142"]  # ACH credit received
    assert _balances(extract) == [
        ("opening", date(2022, 2, 1), 34726979, "USD"),
        ("closing", date(2022, 2, 1), 35217175, "USD"),
        ("available", date(2022, 2, 1), 35217175, "USD"),
        ("opening", date(2022, 2, 2), 35217175, "USD"),
        ("closing", date(2022, 2, 2), 36122975, "USD"),
        ("available", date(2022, 2, 2), 36122975, "USD"),
    ]
    balances = _balances(extract)
    assert rows[0][2] == balances[1][2] - balances[0][2]
    assert rows[1][2] == balances[4][2] - balances[3][2]


def test_moov_sample1_canadian_value_dated_details(corpus: Path) -> None:
    extract = _read(corpus, "moov-bai2-sample1.txt")
    assert extract.rows.height == 17
    assert set(extract.rows["currency"]) == {"CAD"}  # from the 02/03 records, not the account's USD
    first, last = _row(extract, 0), _row(extract, -1)
    assert (first["source_line"], first["posted_date"], first["value_date"]) == (
        5,
        date(2006, 3, 17),
        date(2006, 3, 16),
    )
    assert (first["amount_minor"], first["description"], first["external_id"]) == (-2500, "RETURNED CHEQUE", None)
    assert (last["source_line"], last["value_date"], last["amount_minor"], last["description"]) == (
        24, date(2006, 3, 17), -500, "GALERIES RICHELIEU",
    )  # fmt: skip
    assert _row(extract, 3)["amount_minor"] == 203500  # 16,108 is a credit
    # opening and closing available (040/045) are zero and the credits and debits cancel out
    assert _balances(extract) == [("available", date(2006, 3, 17), 0, "CAD")] * 2
    assert extract.rows["amount_minor"].sum() == 0


def test_moov_sample2_funds_types_signed_summaries_and_five_accounts(corpus: Path) -> None:
    extract = _read(corpus, "moov-bai2-sample2.txt")
    rows = extract.rows.select("source_line", "amount_minor", "transaction_type", "description").rows()
    assert rows == [
        (5, 450000, "115", "BAI2 type 115"),  # funds type S: three distribution amounts skipped
        (10, 500000, "115", "LOCK BOX NO.68751"),
        (16, 20000000, "218", "PROCEEDS OF LETTER OF CREDIT FROM THE ARAMCO OIL CO"),
        (18, 10000000, "195", "BAI2 type 195"),
    ]
    letter_of_credit = _row(extract, 2)
    assert (letter_of_credit["external_id"], letter_of_credit["reference"]) == ("SP4738", "YRC065321")
    assert letter_of_credit["value_date"] == date(2004, 6, 22)
    assert set(extract.rows["currency"]) == {"USD"}  # no currency in the file: the account's
    assert extract.file_accounts == ["0123456789", "9876543210", "4589761203", "0975312468", "7890654321"]
    assert [b.amount_minor for b in extract.balances] == [4350000, -500000, 10000000, 500000, 800000]


def test_every_corpus_file_is_detected_as_bai2(corpus: Path) -> None:
    for path in sorted((corpus / "bai2").iterdir()):
        found = detect(path, "bank")
        assert found is not None, path.name
        assert found.format == "bai2", path.name


# --- generated files ---------------------------------------------------------------------

_FILE = """01,SENDER,RECEIVER,260302,0800,1,80,,2/
02,RECEIVER,BANK,1,260301,2359,USD,2/
03,12345,USD,010,100000,,,015,96000,,/
16,475,5000,0,CHK1001,,CHECK 1001/
16,142,1000,D,2,0,600,1,400,BR77,CR77,PAYROLL, REFUND/
88,SECOND LINE/
49,202000,5/
98,202000,1,7/
99,202000,1,9/
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "report.bai2"
    path.write_text(text)
    return path


def test_generated_file_commas_in_text_and_distributed_availability(tmp_path: Path) -> None:
    extract = BAI2.extract(_write(tmp_path, _FILE), currency="USD")
    assert extract.problems == []
    rows = extract.rows.select("amount_minor", "external_id", "reference", "description").rows()
    assert rows == [(-5000, "CHK1001", None, "CHECK 1001"), (1000, "BR77", "CR77", "PAYROLL, REFUND SECOND LINE")]
    assert extract.rows["amount_minor"].sum() == 96000 - 100000


def test_control_total_mismatch_is_refused_with_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, _FILE.replace("49,202000,5/", "49,202001,5/"))
    problems = BAI2.extract(path, currency="USD").problems
    assert [(p.line, p.field) for p in problems] == [(7, "49 account control total")]
    assert str(problems[0]) == (
        f"{path}:7: field '49 account control total': states 202001, but the amounts of the account add up to 202000"
    )


def test_record_count_mismatch_is_refused(tmp_path: Path) -> None:
    problems = BAI2.extract(
        _write(tmp_path, _FILE.replace("99,202000,1,9/", "99,202000,1,10/")), currency="USD"
    ).problems
    assert [(p.line, p.field) for p in problems] == [(9, "99 number of records")]


def test_bad_amount_is_refused_with_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, _FILE.replace("16,475,5000,", "16,475,50.00,"))
    extract = BAI2.extract(path, currency="USD")
    # the totals cannot be checked without the amount, so the one problem is the amount itself
    assert [(p.line, p.field) for p in extract.problems] == [(4, "16 amount")]
    assert (
        "'50.00' is not a whole number of minor units (at most 18 digits) without a sign" in extract.problems[0].message
    )


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    problems = BAI2.extract(_write(tmp_path, _FILE[: _FILE.index("49,")]), currency="USD").problems
    assert [p.message for p in problems] == ["the file ends before its 99 file trailer: it is incomplete"]


def test_type_code_of_unknown_direction_is_refused(tmp_path: Path) -> None:
    problems = BAI2.extract(_write(tmp_path, _FILE.replace("16,475,", "16,701,")), currency="USD").problems
    assert [(p.line, p.field) for p in problems] == [(4, "16 type code")]


def test_version_1_file_is_refused(tmp_path: Path) -> None:
    problems = BAI2.extract(_write(tmp_path, _FILE.replace(",80,,2/", ",80,,1/")), currency="USD").problems
    assert [(p.line, p.field) for p in problems] == [(1, "01 version number")]


_ALPHABET = "0123456789,/+-VSDZ\n 16 88 03 49 98 99"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=len(_FILE)), junk=st.text(alphabet=_ALPHABET, max_size=30))
def test_damaged_files_give_problems_never_a_traceback(tmp_path: Path, cut: int, junk: str) -> None:
    extract = BAI2.extract(_write(tmp_path, _FILE[:cut] + junk + _FILE[cut:]), currency="USD")
    assert all(isinstance(p, Problem) for p in extract.problems)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_give_problems_never_a_traceback(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "garbage.bai2"
    path.write_bytes(data)
    extract = BAI2.extract(path, currency="USD")
    assert extract.problems
    assert all(isinstance(p, Problem) for p in extract.problems)


def test_importing_a_report_twice_adds_nothing_the_second_time(corpus: Path, tmp_path: Path) -> None:
    from recon.config import AccountSettings
    from recon.importing import ImportJob, import_file
    from recon.store import open_store

    path = corpus / "bai2" / "moj-bai2-svb_us_example.bai2"
    with open_store(tmp_path / "s.duckdb") as store:
        job = ImportJob(path, "bank", AccountSettings(id="svb", currency="USD"), "bai2")
        first = import_file(store, job, run_id="r1")
        again = import_file(store, job, run_id="r2")
        stored = store.con.execute("SELECT count(*), sum(amount_minor) FROM bank_transactions").fetchone()
    assert (first.problems, first.rows_new, first.balances) == ([], 2, 6)
    assert (again.rows_new, again.rows_known) == (0, 2)
    assert stored == (2, 490196 + 905800)
