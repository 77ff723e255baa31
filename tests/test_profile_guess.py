"""`recon profile guess`: a proposed profile that reads the file it was guessed from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from importers.csv_bank import CsvBankImporter
from importers.csv_guess import GuessError, guess_profile
from importers.csv_profile import load_profile, parse_profile
from recon.cli import main
from tests.test_csv_corpus import PROFILE_OF


def guessed_extract(path: Path, currency: str = "EUR") -> tuple[str, list[int], list[date]]:
    toml = guess_profile(path.read_bytes()).to_toml()
    ex = CsvBankImporter(parse_profile(toml, source="guess", name="guess")).extract(path, currency=currency)
    assert ex.problems == [], toml
    return toml, ex.rows["amount_minor"].to_list(), ex.rows["posted_date"].to_list()


@pytest.mark.parametrize("name", sorted(PROFILE_OF))
def test_guess_reads_each_corpus_file_like_its_built_in_profile(corpus: Path, name: str) -> None:
    path = corpus / "csv" / name
    _, amounts, dates = guessed_extract(path)
    built_in = CsvBankImporter(load_profile(PROFILE_OF[name])).extract(path, currency="EUR")
    assert amounts == built_in.rows["amount_minor"].to_list()
    assert dates == built_in.rows["posted_date"].to_list()


def test_guess_finds_encoding_preamble_and_decimal_comma(corpus: Path) -> None:
    toml = guess_profile((corpus / "csv" / "ofxstatement-de-ing-test_with_saldo_1.csv").read_bytes()).to_toml()
    assert 'encoding = "latin-1"' in toml
    assert 'delimiter = ";"' in toml
    assert "skip_lines = 14" in toml  # the header 'Buchung;Wertstellungsdatum;...' is line 15
    assert 'decimal_mark = ","' in toml
    assert 'date_formats = ["%d.%m.%Y"]' in toml
    assert 'amount = "Betrag"' in toml


def test_guess_of_an_indicator_layout(corpus: Path) -> None:
    guess = guess_profile((corpus / "csv" / "ofxstatement-dutch-Knab_transactieoverzicht_ok.csv").read_bytes())
    assert guess.columns["indicator"] == "CreditDebet"
    assert guess.indicator_values == (["C"], ["D"])


def test_guess_of_a_generated_us_export_with_debit_credit_and_thousands(tmp_path: Path) -> None:
    path = tmp_path / "us.csv"
    path.write_text(
        "Date,Description,Debit,Credit,Balance\n"
        '01/15/2024,Rent,"1,200.00",,"3,800.00"\n'
        "01/20/2024,Salary,,2500.00,6300.00\n"
        "01/31/2024,Coffee,4.50,,6295.50\n",
        encoding="utf-8",
    )
    toml, amounts, dates = guessed_extract(path, "USD")
    assert 'thousands_sep = ","' in toml
    assert 'debit = "Debit"' in toml
    assert amounts == [-120000, 250000, -450]
    assert dates == [date(2024, 1, 15), date(2024, 1, 20), date(2024, 1, 31)]


def test_day_first_dates_are_told_by_a_day_above_12(tmp_path: Path) -> None:
    path = tmp_path / "uk.csv"
    path.write_text("Date;Memo;Amount\n05/03/2024;a;-1,00\n25/03/2024;b;2,00\n", encoding="utf-8")
    toml, _, dates = guessed_extract(path)
    assert 'date_formats = ["%d/%m/%Y"]' in toml
    assert dates == [date(2024, 3, 5), date(2024, 3, 25)]


@pytest.mark.parametrize("content", [b"", b"just one line of text\n", b"a,b\nc,d\n", b"\x00\xff\xfe"])
def test_what_is_not_an_export_is_refused(content: bytes) -> None:
    with pytest.raises(GuessError):
        guess_profile(content)


def test_cli_prints_toml_and_exit_codes(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["profile", "guess", str(corpus / "csv" / "ofxstatement-austrian-ing-diba.csv")])  # returns: exit 0
    out, err = capsys.readouterr()
    assert parse_profile(out, source="stdout").columns.debit == "Soll"
    assert "reads 6 rows" in err

    not_csv = tmp_path / "notes.txt"
    not_csv.write_text("hello\n", encoding="utf-8")
    with pytest.raises(SystemExit) as refused:
        main(["profile", "guess", str(not_csv)])
    assert refused.value.code == 2
    assert "cannot propose a profile" in capsys.readouterr().err
