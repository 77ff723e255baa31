"""Every bank CSV of the real corpus, read through its built-in profile.

Expected values were read off the files (line numbers as in the file, header included).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from importers.base import Extract, StatementBalance
from importers.csv_bank import CsvBankImporter
from importers.csv_profile import load_profile

PROFILE_OF = {
    "beangulp-example.csv": "tdameritrade",
    "ledger-autosync-paypal.csv": "paypal",
    "oca-debit_credit_amount.csv": "generic-debit-credit",
    "oca-meta_data_separated_credit_debit.csv": "generic-metadata-debit-credit",
    "ofxstatement-austrian-easybank-creditcard.csv": "easybank",
    "ofxstatement-austrian-easybank-giro.csv": "easybank",
    "ofxstatement-austrian-ing-diba.csv": "ing-diba-at",
    "ofxstatement-de-ing-test_with_saldo_1.csv": "ing-de",
    "ofxstatement-de-ing-test_without_saldo_1.csv": "ing-de-without-balance",
    "ofxstatement-dutch-Knab_transactieoverzicht_ok.csv": "knab",
    "reds-schwab_XXX234_Checking_Transactions_20220203.csv": "schwab-checking",
}
COLUMNS = ("source_line", "posted_date", "amount_minor", "description")


def extract(corpus: Path, name: str, currency: str = "EUR") -> Extract:
    ex = CsvBankImporter(load_profile(PROFILE_OF[name])).extract(corpus / "csv" / name, currency=currency)
    assert ex.problems == []
    return ex


def first_last(ex: Extract) -> tuple[tuple[object, ...], tuple[object, ...]]:
    rows = ex.rows.select(COLUMNS).rows()
    return rows[0], rows[-1]


# file: (rows, first row, last row) as (line, posted date, amount in minor units, description), read off the files
EXPECTED = {
    "beangulp-example.csv": (
        6,
        (2, date(2013, 7, 2), 3104, "ORDINARY DIVIDEND (HDV)"),
        (7, date(2013, 9, 30), 0, "MONEY MARKET PURCHASE (MMDA10)"),
    ),
    "ledger-autosync-paypal.csv": (
        2,
        (2, date(2016, 6, 4), -2000, "Recurring Payment Sent Jane Doe My Friend"),
        (3, date(2016, 6, 4), 112000, "Charge From Debit Card Debit Card"),
    ),
    "oca-debit_credit_amount.csv": (
        4,
        (2, date(2018, 12, 15), 2000, "Credit 20.00"),
        (5, date(2018, 12, 15), -150000, "Debit 1500"),
    ),
    "oca-meta_data_separated_credit_debit.csv": (
        4,
        (6, date(2020, 4, 1), -5000, "LABEL 1 DETAILS 1"),
        (9, date(2020, 4, 2), 130000, "LABEL 4 DETAILS 3"),
    ),
    "ofxstatement-austrian-easybank-creditcard.csv": (
        3,
        (1, date(2013, 7, 2), -599, "Some vendor/info|12345678909876543212345"),
        (3, date(2013, 2, 19), -2269, "Someone|GBP 22,89|34567890987654321234567"),
    ),
    "ofxstatement-austrian-easybank-giro.csv": (
        10,
        (1, date(2014, 1, 1), -42, "Einbehaltene KESt BG/000000001"),
        (
            10,
            date(2015, 10, 7),
            998,
            "/INV/123456790 1.10.2015 MB/000000010 ABCDEF12345 AT098765432109876543 Some company",
        ),
    ),
    "ofxstatement-austrian-ing-diba.csv": (
        6,
        (2, date(2013, 12, 31), 1223, "Habenzinsen"),
        (7, date(2013, 8, 13), 1000, "Prämie Foo"),
    ),
    "ofxstatement-de-ing-test_with_saldo_1.csv": (
        9,
        (16, date(2018, 12, 28), -550, "PayDude (Europe) S.a.r.l. et Cie., S .C.A. PP.1234.PP . Blumen Berther"),
        (24, date(2018, 12, 9), -290, "INFOPAY FISCAL SERVICES GMBH OnlineTicket Neustadter Verkehr"),
    ),
    "ofxstatement-de-ing-test_without_saldo_1.csv": (
        6,
        (15, date(2018, 12, 28), -549, "PayDude (Europe) S.a.r.l. et Cie., S .C.A. PP.1234.PP . Blumen Berther"),
        (20, date(2018, 12, 10), -15200, "VISA Hotel XY Übernachtung in Neuenhausen am 21.05.2017"),
    ),
    "ofxstatement-dutch-Knab_transactieoverzicht_ok.csv": (
        28,
        (3, date(2019, 6, 21), -82775, "Gert Janssen (FR) Tresorie"),
        (30, date(2019, 1, 7), 702, "Knab Rente"),
    ),
    "reds-schwab_XXX234_Checking_Transactions_20220203.csv": (
        2,
        (2, date(2022, 7, 31), 100, "Interest Paid"),
        (3, date(2022, 2, 3), -200, "Electronic Withdrawal"),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_row_count_first_and_last_row(corpus: Path, name: str) -> None:
    count, first, last = EXPECTED[name]
    ex = extract(corpus, name)
    assert ex.rows.height == count
    assert first_last(ex) == (first, last)


def test_every_corpus_csv_has_a_profile(corpus: Path) -> None:
    assert sorted(p.name for p in (corpus / "csv").iterdir()) == sorted(PROFILE_OF)


@pytest.mark.parametrize(
    "name",
    [n for n, profile in PROFILE_OF.items() if profile != "easybank"],  # no header: named, never guessed
)
def test_files_with_a_header_are_detected_without_naming_the_profile(corpus: Path, name: str) -> None:
    importer = CsvBankImporter()
    assert importer.identify(corpus / "csv" / name)
    detected = importer.extract(corpus / "csv" / name, currency="EUR")
    assert detected.problems == []
    assert detected.rows.equals(extract(corpus, name).rows)


def test_brokerage_cash_with_end_of_file_trailer(corpus: Path) -> None:
    ex = extract(corpus, "beangulp-example.csv", currency="USD")
    assert ex.rows.height == 6  # '***END OF FILE***' dropped
    assert first_last(ex) == (
        (2, date(2013, 7, 2), 3104, "ORDINARY DIVIDEND (HDV)"),
        (7, date(2013, 9, 30), 0, "MONEY MARKET PURCHASE (MMDA10)"),
    )
    assert ex.rows["external_id"][0] == "10223506553"
    assert ex.balances == [StatementBalance("closing", date(2013, 9, 30), 0, "USD")]


def test_paypal_leading_space_headers_and_thousands(corpus: Path) -> None:
    ex = extract(corpus, "ledger-autosync-paypal.csv", currency="USD")
    assert ex.rows["amount_minor"].to_list() == [-2000, 112000]  # Net '-20.00', '1,120.00'
    assert ex.rows["posted_date"].to_list() == [date(2016, 6, 4)] * 2  # M/D/YYYY '6/4/2016'
    assert ex.rows["external_id"].to_list() == ["XYZ1", "XYZ2"]
    assert ex.rows["payee"].to_list() == ["Jane Doe", "Debit Card"]
    assert ex.rows["currency"].to_list() == ["USD", "USD"]


def test_debit_credit_columns_take_the_column_not_the_written_sign(corpus: Path) -> None:
    ex = extract(corpus, "oca-debit_credit_amount.csv")
    # Credit '20.00', Credit '-13.50', Debit '-33.50', Debit '1,500.00' (labels say the same)
    assert ex.rows["amount_minor"].to_list() == [2000, 1350, -3350, -150000]
    assert ex.rows["description"].to_list() == ["Credit 20.00", "Credit 13.50", "Debit 33.50", "Debit 1500"]
    assert ex.rows["payee"].to_list() == ["John Doe", "John Doe", "Azure Interior", "Azure Interior"]
    assert ex.balances == [StatementBalance("closing", date(2018, 12, 15), 151000, "EUR")]


def test_metadata_preamble_decimal_comma_two_digit_years_and_footer(corpus: Path) -> None:
    ex = extract(corpus, "oca-meta_data_separated_credit_debit.csv")
    assert ex.rows.height == 4  # 'Balance at start of period' footer dropped
    assert first_last(ex) == (
        (6, date(2020, 4, 1), -5000, "LABEL 1 DETAILS 1"),  # '01/04/20' is dd/mm/yy
        (9, date(2020, 4, 2), 130000, "LABEL 4 DETAILS 3"),  # Credit '1300,00'
    )
    assert ex.rows["external_id"].to_list() == [f"UNIQUE OP {i}" for i in range(1, 5)]


def test_easybank_credit_card_no_header_value_dates(corpus: Path) -> None:
    ex = extract(corpus, "ofxstatement-austrian-easybank-creditcard.csv")
    assert ex.rows["amount_minor"].to_list() == [-599, 3099, -2269]  # '-5,99', '+30,99', '-22,69'
    assert ex.rows["source_line"].to_list() == [1, 2, 3]
    assert ex.rows["value_date"].to_list() == [date(2013, 6, 30), date(2013, 6, 19), date(2013, 2, 9)]
    assert ex.rows["description"][2] == "Someone|GBP 22,89|34567890987654321234567"


def test_easybank_giro_latin1_and_thousands(corpus: Path) -> None:
    ex = extract(corpus, "ofxstatement-austrian-easybank-giro.csv")
    assert ex.rows.height == 10
    assert ex.rows["amount_minor"][4] == -100100  # '-1.001,00'
    assert ex.rows["description"][3].startswith("Abbuchung Einzugsermächtigung OG/000000004")
    assert ex.rows["description"][8].startswith("Gutschrift Überweisung")
    assert first_last(ex)[1][:3] == (10, date(2015, 10, 7), 998)
    assert ex.file_accounts == ["AT123456789012345678"]


def test_ing_diba_at_soll_haben_zero_filled(corpus: Path) -> None:
    ex = extract(corpus, "ofxstatement-austrian-ing-diba.csv")
    assert ex.rows["amount_minor"].to_list() == [1223, -3456, 50000, 2030, -150000, 1000]
    assert ex.rows["description"][5] == "Prämie Foo"
    assert ex.rows["posted_date"][4] == date(2013, 8, 27)


def test_ing_de_preamble_duplicate_currency_columns_and_saldo(corpus: Path) -> None:
    ex = extract(corpus, "ofxstatement-de-ing-test_with_saldo_1.csv")
    assert ex.rows.height == 9
    first, last = first_last(ex)
    payee_and_purpose = "PayDude (Europe) S.a.r.l. et Cie., S .C.A. PP.1234.PP . Blumen Berther"
    assert first == (16, date(2018, 12, 28), -550, payee_and_purpose)
    assert last[:3] == (24, date(2018, 12, 9), -290)
    assert ex.rows["value_date"][3] == date(2018, 12, 27)
    assert ex.rows["payee"][4] == "Peter Petersen"
    # newest first: the closing balance is the first row's Saldo, '150,00' (as the preamble says)
    assert ex.balances == [StatementBalance("closing", date(2018, 12, 28), 15000, "EUR")]


def test_ing_de_without_saldo_and_empty_purpose(corpus: Path) -> None:
    ex = extract(corpus, "ofxstatement-de-ing-test_without_saldo_1.csv")
    assert ex.rows.height == 6
    assert ex.rows["description"][3] == "EBUCHT GMBH"  # empty Verwendungszweck
    assert ex.rows["description"][5] == "VISA Hotel XY Übernachtung in Neuenhausen am 21.05.2017"
    assert first_last(ex)[1][:3] == (20, date(2018, 12, 10), -15200)
    assert ex.balances == []


def test_knab_credit_debit_indicator_and_amounts_without_decimals(corpus: Path) -> None:
    ex = extract(corpus, "ofxstatement-dutch-Knab_transactieoverzicht_ok.csv")
    assert ex.rows.height == 28
    first, last = first_last(ex)
    assert first == (3, date(2019, 6, 21), -82775, "Gert Janssen (FR) Tresorie")  # 'D' '827,75'
    assert last == (30, date(2019, 1, 7), 702, "Knab Rente")  # 'C' '7,02'
    assert ex.rows["amount_minor"][3] == 250000  # 'C' '2500'
    assert ex.rows["reference"][0] == "B9F21PGYA068V2KD"
    assert ex.file_accounts == ["NL99KNAB9999999999"]  # Rekeningnummer: routing and the one-account check


def test_schwab_dollar_signs_and_newest_first_balance(corpus: Path) -> None:
    ex = extract(corpus, "reds-schwab_XXX234_Checking_Transactions_20220203.csv", currency="USD")
    assert first_last(ex) == (
        (2, date(2022, 7, 31), 100, "Interest Paid"),  # Deposit '$1.00'
        (3, date(2022, 2, 3), -200, "Electronic Withdrawal"),  # Withdrawal '$2.00'
    )
    assert ex.rows["transaction_type"].to_list() == ["INTADJUST", "ACH"]
    assert ex.rows["pending"].to_list() == [False, False]
    assert ex.balances == [StatementBalance("closing", date(2022, 7, 31), 200, "USD")]
