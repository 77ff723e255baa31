"""Built-in bank CSV profiles on small exports written here in each bank's layout, and the profile rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers.base import Extract
from importers.csv_bank import CsvBankImporter, detect_profile
from importers.csv_header import named_columns, profile_matches
from importers.csv_profile import CsvProfile, builtin_profile_names, load_profile, parse_profile
from recon.config import AccountSettings
from recon.errors import ConfigError
from recon.importing import ImportJob, import_file
from recon.store import open_store


def write(tmp_path: Path, text: str, *, name: str = "export.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path, profile: str | CsvProfile, currency: str = "USD") -> Extract:
    loaded = load_profile(profile) if isinstance(profile, str) else profile
    return CsvBankImporter(loaded).extract(path, currency=currency)


def amounts(ex: Extract) -> list[int]:
    assert ex.problems == [], [str(p) for p in ex.problems]
    return ex.rows["amount_minor"].to_list()


# --- each built-in bank profile on an export in that bank's layout -----------------------------

BANK_EXPORTS: dict[str, tuple[str, list[int], date, str]] = {
    # profile: (file text, amounts in minor units, first posted date, first description)
    "chase-checking": (
        "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n"
        "DEBIT,03/14/2024,STARBUCKS STORE 123,-5.75,DEBIT_CARD,1234.56,,\n"
        "CREDIT,03/15/2024,ACME PAYROLL PPD ID: 999,2500.00,ACH_CREDIT,3734.56,,\n"
        "CHECK,03/16/2024,CHECK 1042,-120.00,CHECK_PAID,3614.56,1042,\n",
        [-575, 250000, -12000],
        date(2024, 3, 14),
        "STARBUCKS STORE 123",
    ),
    "chase-credit": (
        "Transaction Date,Post Date,Description,Category,Type,Amount,Memo\n"
        "03/12/2024,03/13/2024,AMAZON MKTPL,Shopping,Sale,-23.99,\n"
        "03/14/2024,03/14/2024,Payment Thank You-Mobile,,Payment,500.00,\n",
        [-2399, 50000],
        date(2024, 3, 13),
        "AMAZON MKTPL",
    ),
    "bofa-checking": (
        "Description,,Summary Amt.\n"
        'Beginning balance as of 03/01/2024,,"1,000.00"\n'
        'Total credits,,"2,500.00"\n'
        'Total debits,,"-40.25"\n'
        'Ending balance as of 03/31/2024,,"3,459.75"\n'
        "\n"
        "Date,Description,Amount,Running Bal.\n"
        '03/01/2024,Beginning balance as of 03/01/2024,,"1,000.00"\n'
        '03/04/2024,"PAYROLL DES:ACME ID:123","2,500.00","3,500.00"\n'
        '03/05/2024,"SHELL OIL 5744","-40.25","3,459.75"\n',
        [250000, -4025],
        date(2024, 3, 4),
        "PAYROLL DES:ACME ID:123",
    ),
    "bofa-credit": (
        "Posted Date,Reference Number,Payee,Address,Amount\n"
        '03/02/2024,24431064062000123456789,"TRADER JOE S #123","NEW YORK NY ",-45.10\n'
        '03/09/2024,24692164069000987654321,"PAYMENT - THANK YOU","",200.00\n',
        [-4510, 20000],
        date(2024, 3, 2),
        "TRADER JOE S #123",
    ),
    "wells-fargo": (
        '"03/01/2024","-12.34","*","","PURCHASE AUTHORIZED ON 02/29 CAFE"\n'
        '"03/04/2024","1500.00","*","","ACME PAYROLL"\n'
        '"03/05/2024","-200.00","*","1043","CHECK # 1043"\n',
        [-1234, 150000, -20000],
        date(2024, 3, 1),
        "PURCHASE AUTHORIZED ON 02/29 CAFE",
    ),
    "capitalone-credit": (
        "Transaction Date,Posted Date,Card No.,Description,Category,Debit,Credit\n"
        "2024-03-01,2024-03-02,1234,UBER TRIP,Other Travel,18.52,\n"
        "2024-03-05,2024-03-05,1234,CAPITAL ONE AUTOPAY PYMT,Payment/Credit,,250.00\n",
        [-1852, 25000],
        date(2024, 3, 2),
        "UBER TRIP",
    ),
    "capitalone-360": (
        "Account Number,Transaction Description,Transaction Date,Transaction Type,Transaction Amount,Balance\n"
        "9876,Monthly Interest Paid,03/31/24,Credit,0.42,1000.42\n"
        "9876,Withdrawal to Savings,04/01/24,Debit,100.00,900.42\n",
        [42, -10000],
        date(2024, 3, 31),
        "Monthly Interest Paid",
    ),
    "amex": (
        "Date,Description,Amount,Extended Details,Appears On Your Statement As,Address,City/State,"
        "Zip Code,Country,Reference,Category\n"
        '03/10/2024,BLUE BOTTLE COFFEE,6.50,"x",BLUE BOTTLE COFFEE,"1 Main",OAKLAND CA,94607,'
        "UNITED STATES,'320240700123456789',Restaurant-Bar & Café\n"
        "03/12/2024,AUTOPAY PAYMENT - THANK YOU,-1200.00,,AUTOPAY PAYMENT,,,,,'320240720123456790',\n",
        [-650, 120000],
        date(2024, 3, 10),
        "BLUE BOTTLE COFFEE",
    ),
    "barclays": (
        "Number,Date,Account,Amount,Subcategory,Memo\n"
        ",14/03/2024,20-00-00 12345678,-12.50,PAYMENT,TESCO STORES 2041   ON 13 MAR    BCC\n"
        ",15/03/2024,20-00-00 12345678,1850.00,DIRECTDEP,ACME LTD SALARY\n",
        [-1250, 185000],
        date(2024, 3, 14),
        "TESCO STORES 2041 ON 13 MAR BCC",
    ),
    "revolut": (
        "Type,Product,Started Date,Completed Date,Description,Amount,Fee,Currency,State,Balance\n"
        "TOPUP,Current,2024-03-01 09:12:44,2024-03-01 09:12:45,Top-Up by *1234,100.00,0.00,EUR,COMPLETED,100.00\n"
        "CARD_PAYMENT,Current,2024-03-02 23:59:10,2024-03-03 08:00:00,Lidl,-12.30,0.00,EUR,COMPLETED,87.70\n"
        "CARD_PAYMENT,Current,2024-03-03 10:00:00,,Shop,-5.00,0.00,EUR,DECLINED,\n"
        "CARD_PAYMENT,Current,2024-03-04 10:00:00,,Bakery,-2.10,0.00,EUR,PENDING,\n",
        [10000, -1230, -210],
        date(2024, 3, 1),
        "Top-Up by *1234",
    ),
    "n26": (
        '"Date","Payee","Account number","Transaction type","Payment reference","Amount (EUR)",'
        '"Amount (Foreign Currency)","Type Foreign Currency","Exchange Rate"\n'
        '"2024-03-01","REWE Markt","","MasterCard Payment","","-23.45","","",""\n'
        '"2024-03-02","Anna Schmidt","DE89370400440532013000","Income","Miete März","650.0","","",""\n',
        [-2345, 65000],
        date(2024, 3, 1),
        "REWE Markt",
    ),
    "ing-nl": (
        '"Datum","Naam / Omschrijving","Rekening","Tegenrekening","Code","Af Bij","Bedrag (EUR)",'
        '"Mutatiesoort","Mededelingen"\n'
        '"20240301","Albert Heijn 1234","NL01INGB0001234567","","BA","Af","1234,56","Betaalautomaat","Pasvolgnr:001"\n'
        '"20240302","Werkgever BV","NL01INGB0001234567","NL02ABNA0123456789","GT","Bij","2500,00",'
        '"Overschrijving","Salaris maart"\n',
        [-123456, 250000],
        date(2024, 3, 1),
        "Albert Heijn 1234 Pasvolgnr:001",
    ),
}


@pytest.mark.parametrize("profile", sorted(BANK_EXPORTS))
def test_bank_export_in_its_usual_layout(tmp_path: Path, profile: str) -> None:
    text, expected, first_date, first_description = BANK_EXPORTS[profile]
    currency = "EUR" if profile in ("revolut", "n26", "ing-nl") else "GBP" if profile == "barclays" else "USD"
    ex = read(write(tmp_path, text), profile, currency)
    assert amounts(ex) == expected
    assert ex.rows["posted_date"][0] == first_date
    assert ex.rows["description"][0] == first_description


def test_every_usual_bank_has_a_profile() -> None:
    names = set(builtin_profile_names())
    assert set(BANK_EXPORTS) <= names


@pytest.mark.parametrize("profile", sorted(p for p in BANK_EXPORTS if p != "wells-fargo"))
def test_headered_bank_exports_are_detected(tmp_path: Path, profile: str) -> None:
    path = write(tmp_path, BANK_EXPORTS[profile][0])
    detected = detect_profile(path)
    assert detected is not None
    assert detected.name == profile


def test_specific_details_of_the_bank_layouts(tmp_path: Path) -> None:
    chase = read(write(tmp_path, BANK_EXPORTS["chase-checking"][0]), "chase-checking")
    assert chase.rows["check_number"].to_list() == [None, None, "1042"]
    assert chase.balances[0].amount_minor == 361456
    bofa = read(write(tmp_path, BANK_EXPORTS["bofa-checking"][0]), "bofa-checking")
    assert bofa.rows["source_line"].to_list() == [9, 10]  # the 'Beginning balance' row on line 8 dropped
    revolut = read(write(tmp_path, BANK_EXPORTS["revolut"][0]), "revolut", "EUR")
    assert revolut.rows["pending"].to_list() == [False, False, True]
    assert revolut.rows["posted_date"][1] == date(2024, 3, 2)  # the date written, time ignored
    amex = read(write(tmp_path, BANK_EXPORTS["amex"][0]), "amex")
    assert amex.rows["transaction_type"][0] == "Restaurant-Bar & Café"


# --- text rules: encodings, decimal marks, signs, line numbers --------------------------------


def profile_of(toml: str) -> CsvProfile:
    return parse_profile(toml, source="test.toml", name="test")


SEMICOLON_DE = """
encoding = "latin-1"
delimiter = ";"
decimal_mark = ","
thousands_sep = "."
date_formats = ["%d.%m.%Y"]
[columns]
date = "Datum"
amount = "Betrag"
description = "Text"
"""


def test_latin1_file_decodes_accents(tmp_path: Path) -> None:
    path = write(tmp_path, "Datum;Text;Betrag\n01.02.2024;Überweisung Müller;-1,00\n", encoding="latin-1")
    ex = read(path, profile_of(SEMICOLON_DE), "EUR")
    assert ex.rows["description"].to_list() == ["Überweisung Müller"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "UTF8"])
def test_a_utf8_profile_knows_its_header_behind_a_byte_order_mark(tmp_path: Path, encoding: str) -> None:
    profile = profile_of(
        f'encoding = "{encoding}"\ndate_formats = ["%Y-%m-%d"]\n'
        '[columns]\ndate = "Date"\namount = "Amount"\ndescription = "Text"\n'
    )
    path = write(tmp_path, "\ufeffDate,Text,Amount\n2024-01-01,Café,1.00\n")
    assert CsvBankImporter(profile).identify(path)
    assert read(path, profile).rows["description"].to_list() == ["Café"]


def test_decimal_commas_and_thousands_are_exact(tmp_path: Path) -> None:
    text = "Datum;Text;Betrag\n" + "".join(
        f"01.02.2024;x;{v}\n" for v in ["1.234.567,89", "-0,01", "+12,5", "7", "-1.000,00", "0,10"]
    )
    ex = read(write(tmp_path, text, encoding="latin-1"), profile_of(SEMICOLON_DE), "EUR")
    assert amounts(ex) == [123456789, -1, 1250, 700, -100000, 10]


def test_negative_zero_is_zero(tmp_path: Path) -> None:
    text = "Datum;Text;Betrag\n01.02.2024;a;-0,00\n01.02.2024;b;+0\n"
    ex = read(write(tmp_path, text, encoding="latin-1"), profile_of(SEMICOLON_DE), "EUR")
    assert amounts(ex) == [0, 0]
    assert str(ex.rows["amount_minor"][0]) == "0"


def test_accounting_parentheses_and_trailing_minus(tmp_path: Path) -> None:
    profile = profile_of('date_formats = ["%Y-%m-%d"]\n[columns]\ndate = "d"\namount = "a"\ndescription = "t"\n')
    text = 'd,a,t\n2024-01-01,(12.50),x\n2024-01-01,3.00-,y\n2024-01-01,"- 4",z\n'
    assert amounts(read(write(tmp_path, text), profile)) == [-1250, -300, -400]


def test_bad_date_refuses_naming_file_line_and_column(tmp_path: Path) -> None:
    text = "Datum;Text;Betrag\n01.02.2024;ok;1,00\n31.02.2024;impossible;2,00\n\n2024-03-01;iso;3,00\n"
    path = write(tmp_path, text, encoding="latin-1")
    ex = read(path, profile_of(SEMICOLON_DE), "EUR")
    assert [str(p) for p in ex.problems] == [
        f"{path}:3: field 'Datum': '31.02.2024' is not a date (%d.%m.%Y)",
        f"{path}:5: field 'Datum': '2024-03-01' is not a date (%d.%m.%Y)",  # the blank line 4 still counts
    ]


def test_bad_amounts_and_marks_name_their_lines(tmp_path: Path) -> None:
    profile = load_profile("knab")
    header = (
        "KNAB EXPORT;;;\nRekeningnummer;Transactiedatum;Valutacode;CreditDebet;Bedrag;Tegenrekeninghouder;"
        "Valutadatum;Betaalwijze;Omschrijving;Referentie;\n"
    )
    rows = (
        '"NL1";"01-02-2024";"EUR";"X";"1,00";"a";"";"";"";"";\n"NL1";"01-02-2024";"EUR";"C";"1.00";"b";"";"";"";"";\n'
    )
    path = write(tmp_path, header + rows)
    ex = read(path, profile, "EUR")
    assert [(p.line, p.field) for p in ex.problems] == [(3, "CreditDebet"), (4, "Bedrag")]
    assert "'X' is neither a credit (C) nor a debit (D) mark" in ex.problems[0].message
    assert ex.problems[1].message == "'1.00' is not an exact amount"


def test_a_row_with_both_a_debit_and_a_credit_is_refused_not_netted(tmp_path: Path) -> None:
    profile = profile_of(
        'date_formats = ["%Y-%m-%d"]\n[columns]\ndate = "Date"\ndescription = "Text"\n'
        'debit = "Debit"\ncredit = "Credit"\n'
    )
    text = "Date,Text,Debit,Credit\n2024-01-01,fee,0.00,\n2024-01-02,pay,,5.00\n2024-01-03,odd,12.00,3.00\n"
    ex = read(write(tmp_path, text), profile)
    assert [(p.line, p.field) for p in ex.problems] == [(4, "Credit")]
    assert ex.problems[0].message == "both 'Debit' and 'Credit' hold an amount; a row is money in or out"


def test_a_currency_that_is_not_three_letters_is_refused_and_lowercase_is_read_as_uppercase(tmp_path: Path) -> None:
    profile = profile_of(
        'date_formats = ["%Y-%m-%d"]\n[columns]\ndate = "Date"\ndescription = "Text"\n'
        'amount = "Amount"\ncurrency = "Cur"\n'
    )
    text = "Date,Text,Amount,Cur\n2024-01-01,a,1.00,usd\n2024-01-02,b,2.00,US$\n"
    ex = read(write(tmp_path, text), profile)
    assert [(p.line, p.field, p.message) for p in ex.problems] == [
        (3, "Cur", "'US$' is not a currency code (three letters, such as USD)")
    ]
    good = read(write(tmp_path, text.replace(",US$", ",eur"), name="good.csv"), profile)
    assert good.rows["currency"].to_list() == ["USD", "EUR"]


def test_quoted_newlines_keep_later_line_numbers(tmp_path: Path) -> None:
    profile = profile_of('date_formats = ["%Y-%m-%d"]\n[columns]\ndate = "d"\namount = "a"\ndescription = "t"\n')
    text = 'd,a,t\n2024-01-01,1.00,"two\nlines"\n2024-01-02,x,y\n'
    ex = read(write(tmp_path, text), profile)
    assert [(p.line, p.field) for p in ex.problems] == [(4, "a")]


def test_column_names_are_found_in_any_case_an_exact_name_first(tmp_path: Path) -> None:
    profile = profile_of(
        'date_formats = ["%Y-%m-%d"]\n[columns]\ndate = "Date"\namount = "Amount"\ndescription = "Memo"\n'
    )
    text = "DATE,amount,Amount,MEMO,Other\n2024-01-01,9.99,1.25,Coffee,x\n"
    path = write(tmp_path, text)
    assert amounts(read(path, profile)) == [125]  # "Amount" as written, not "amount"
    assert profile_matches(profile, path.read_bytes())
    assert named_columns(profile, text.splitlines()[0]) == [0, 2, 3]


def test_missing_column_is_named_with_the_header_line(tmp_path: Path) -> None:
    ex = read(write(tmp_path, "Date,Amount\n01/02/2024,1.00\n"), "chase-credit")
    assert {p.field for p in ex.problems} >= {"Post Date", "Description"}
    assert {p.line for p in ex.problems} == {1}


def test_wrong_encoding_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "Posting Date\n\xe9t\xe9\n", encoding="latin-1")
    ex = read(path, "chase-checking")
    assert len(ex.problems) == 1
    assert ex.problems[0].line == 2
    assert "not utf-8 text" in ex.problems[0].message


def test_unknown_csv_is_refused_with_the_way_out(tmp_path: Path) -> None:
    ex = CsvBankImporter().extract(write(tmp_path, "foo,bar\n1,2\n"), currency="USD")
    assert "no built-in CSV profile fits this file" in ex.problems[0].message
    assert "recon profile guess" in ex.problems[0].message


# --- profile validation: every error names the file and the key --------------------------------


@pytest.mark.parametrize(
    ("toml", "key", "fragment"),
    [
        ('date_formats = ["%d.%m.%Y"]\n[columns]\ndate = "D"\ndescription = "T"\n', "columns", "give amount"),
        (
            'date_formats = ["%d.%m.%Y"]\n[columns]\ndate = "D"\ndescription = "T"\namount = "A"\ndebit = "S"\n',
            "columns",
            "not both",
        ),
        ('date_formats = ["%d.%Y"]\n[columns]\ndate = "D"\ndescription = "T"\namount = "A"\n', "date_formats", "month"),
        (
            'encoding = "klingon"\ndate_formats = ["%d.%m.%Y"]\n[columns]\ndate = 1\ndescription = 2\namount = 3\n',
            "encoding",
            "unknown encoding",
        ),
        (
            'date_formats = ["%d.%m.%Y"]\ndelimter = ";"\n[columns]\ndate = 1\ndescription = 2\namount = 3\n',
            "delimter",
            "Extra inputs",
        ),
        (
            'date_formats = ["%d.%m.%Y"]\n[columns]\ndate = "D"\ndescription = "T"\namount = "A"\nindicator = "I"\n',
            "(profile)",
            "sign.credit_values",
        ),
        (
            'has_header = false\ndate_formats = ["%d.%m.%Y"]\n[columns]\ndate = "D"\ndescription = 2\namount = 3\n',
            "(profile)",
            "positions",
        ),
        (
            'drop_lines_matching = ["("]\ndate_formats = ["%d.%m.%Y"]\n'
            "[columns]\ndate = 1\ndescription = 2\namount = 3\n",
            "drop_lines_matching",
            "regular expression",
        ),
    ],
)
def test_profile_errors_name_file_and_key(toml: str, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_profile(toml, source="banks/mine.toml")
    message = str(caught.value)
    assert f"banks/mine.toml: key '{key}'" in message
    assert fragment in message


def test_unknown_profile_name_lists_the_built_ins(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"neither a built-in profile .*chase-checking"):
        load_profile("no-such-bank", base_dir=tmp_path)


def test_every_built_in_profile_loads() -> None:
    for name in builtin_profile_names():
        assert load_profile(name).name == name


# --- through the import service and the config ---------------------------------------------------


def test_config_profile_by_name_and_by_file(tmp_path: Path) -> None:
    from recon.config import load_config
    from recon.importing import jobs_from_config

    (tmp_path / "bank").mkdir()
    write(tmp_path / "bank", BANK_EXPORTS["chase-credit"][0], name="card.csv")
    write(tmp_path / "bank", "Datum;Text;Betrag\n01.02.2024;Café;-1,50\n", name="de.csv", encoding="latin-1")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "mybank.toml").write_text(SEMICOLON_DE, encoding="utf-8")
    (tmp_path / "recon.toml").write_text(
        '[[accounts]]\nid = "card"\ncurrency = "USD"\n[[accounts]]\nid = "de"\ncurrency = "EUR"\n'
        '[[sources]]\naccount = "card"\nformat = "csv"\npaths = ["bank/card.csv"]\nprofile = "chase-credit"\n'
        '[[sources]]\naccount = "de"\npaths = ["bank/de.csv"]\nprofile = "profiles/mybank.toml"\n',
        encoding="utf-8",
    )
    jobs, warnings = jobs_from_config(load_config(tmp_path / "recon.toml"))
    assert warnings == []
    assert [j.profile for j in jobs] == ["chase-credit", str(tmp_path / "profiles" / "mybank.toml")]
    with open_store(tmp_path / "s.duckdb") as store:
        reports = [import_file(store, job, run_id="t") for job in jobs]
        assert [(r.format, r.rows_new, r.problems) for r in reports] == [("csv", 2, []), ("csv", 1, [])]
        stored = store.query("SELECT description, amount_minor FROM bank_transactions WHERE account_id = 'de'")
    assert stored.rows() == [("Café", -150)]


def test_refused_csv_stores_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "Datum;Text;Betrag\n01.02.2024;ok;1,00\n01.13.2024;bad;2,00\n", encoding="latin-1")
    (tmp_path / "p.toml").write_text(SEMICOLON_DE, encoding="utf-8")
    job = ImportJob(path, "bank", AccountSettings(id="de", currency="EUR"), "csv", profile=str(tmp_path / "p.toml"))
    with open_store(tmp_path / "s.duckdb") as store:
        report = import_file(store, job, run_id="t")
        assert report.refused
        assert store.query("SELECT count(*) AS n FROM bank_transactions")["n"][0] == 0


# --- nothing a file holds makes the importer raise ----------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_never_raise(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.csv"
    path.write_bytes(data)
    for profile in ("knab", "easybank", "bofa-checking"):
        ex = read(path, profile, "EUR")
        assert ex.problems or ex.rows.height == 0 or ex.rows["amount_minor"].null_count() == 0
    CsvBankImporter().extract(path, currency="EUR")


CSV_TEXT = st.lists(
    st.lists(st.text(alphabet='0123456789.,;-+ "\n\rabcé/()$', max_size=12), min_size=1, max_size=5),
    max_size=6,
).map(lambda rows: "\n".join(";".join(r) for r in rows))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=CSV_TEXT)
def test_random_csv_text_gives_rows_or_problems(tmp_path: Path, body: str) -> None:
    path = write(tmp_path, "Datum;Text;Betrag\n" + body, encoding="utf-8")
    ex = read(path, profile_of(SEMICOLON_DE.replace("latin-1", "utf-8")), "EUR")
    if not ex.problems:
        assert ex.rows["amount_minor"].null_count() == 0
        assert ex.rows["posted_date"].null_count() == 0
