"""MT940/MT942 import: every corpus file as the bank wrote it, bad lines refused with file, line and field.

Expected values were read by eye from the corpus files; line numbers are those of the
`:61:` lines there. Several of these public test files do not balance (their authors
anonymized amounts): recon imports them with a warning, and their tests say which statements are off.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import detect
from importers.base import Extract
from importers.mt940 import Mt940Importer
from recon.errors import Problem

MT940 = Mt940Importer()


def _read(corpus: Path, name: str) -> Extract:
    extract = MT940.extract(corpus / "mt940" / name, currency="EUR")
    assert extract.problems == []
    return extract


def _read_not_adding_up(corpus: Path, name: str, closing_lines: list[int]) -> Extract:
    """A sample whose authors edited amounts: read, with a warning for each statement that does not add up,
    named at its closing balance."""
    extract = MT940.extract(corpus / "mt940" / name, currency="EUR")
    assert extract.problems == [], [str(p) for p in extract.problems]
    assert [int(note.split(":")[1]) for note in extract.notes] == closing_lines
    assert all("does not add up: its opening balance" in note for note in extract.notes)
    return extract


def _row(extract: Extract, index: int) -> dict[str, Any]:
    return extract.rows.row(index, named=True)


def _balances(extract: Extract) -> list[tuple[str, date, int, str]]:
    return [(b.kind, b.as_of, b.amount_minor, b.currency) for b in extract.balances]


def _movement_per_statement(extract: Extract) -> dict[int, int]:
    moves: dict[int, int] = {}
    for raw, amount in extract.rows.select("raw", "amount_minor").iter_rows():
        index = json.loads(raw)["statement_index"]
        moves[index] = moves.get(index, 0) + amount
    return moves


# --- the corpus, file by file ----------------------------------------------------------


def test_oca_ing_swift_envelope_structured_86_and_wrapped_mandate(corpus: Path) -> None:
    extract = _read(corpus, "oca-test-ing.940")
    assert extract.rows.height == 8
    assert extract.file_accounts == ["NL77INGB0574908765"]
    first, last = _row(extract, 0), _row(extract, -1)
    # :61:1402200220C1,56NTRFEREF//00000000001 and /EREF/.../CNTP/...//REMI/USTD//EV10001REP1000000T1000/
    assert (first["source_line"], first["posted_date"], first["amount_minor"]) == (9, date(2014, 2, 20), 156)
    assert (first["external_id"], first["description"]) == ("00000000001", "EV10001REP1000000T1000")
    assert (first["payee"], first["reference"]) == ("ING BANK NV INZAKE WEB", "EV12341REP1231456T1234")
    assert (last["source_line"], last["amount_minor"], last["external_id"]) == (51, -11900, "00000000001012")
    assert last["description"] == "1070123412341234"
    # the mandate id 'MND-EV01' is wrapped as 'MND' / '-' / 'EV01': the lone '-' is text, not the end
    mandate = json.loads(_row(extract, 3)["raw"])["information"]
    assert (mandate["MARF"], mandate["CSID"]) == ("MND-EV01", "NL32ZZZ999999991234")
    assert _balances(extract) == [
        ("opening", date(2014, 2, 19), 66223, "EUR"),
        ("closing", date(2014, 2, 20), 56435, "EUR"),
        ("available", date(2014, 2, 20), 56435, "EUR"),
    ]
    assert extract.rows["amount_minor"].sum() == 56435 - 66223


def test_oca_rabo_several_statements_some_empty(corpus: Path) -> None:
    extract = _read(corpus, "oca-test-rabo.swi")
    assert extract.rows.height == 2
    first, last = _row(extract, 0), _row(extract, -1)
    assert (first["source_line"], first["posted_date"], first["amount_minor"]) == (6, date(2014, 1, 2), 40000)
    assert (first["description"], first["payee"], first["external_id"]) == (
        "Test money paid by other partner:", "R. SMITH", None,  # NONREF: no id of its own
    )  # fmt: skip
    assert (last["source_line"], last["posted_date"], last["amount_minor"]) == (21, date(2014, 1, 1), -3461)
    assert (last["description"], last["payee"]) == ("Periode 01-10-2013 t/m 31-12-2013", "Kosten")
    assert len(extract.balances) == 8  # four statements, each opening and closing
    assert _movement_per_statement(extract) == {1: 483352 - 443352, 3: 479891 - 483352}


def test_oca_sns_padded_86_lines_join_words_broken_at_65_characters(corpus: Path) -> None:
    extract = _read(corpus, "oca-test-sns.940")
    assert extract.rows.height == 8
    first, last = _row(extract, 0), _row(extract, -1)
    assert (first["source_line"], first["amount_minor"], first["transaction_type"]) == (6, -71313, "NOVB")
    assert first["description"] == "NL49RABO0166416932 gerrits glas en schilderwerk Factuur 17227/248/20"
    assert (last["source_line"], last["posted_date"], last["amount_minor"]) == (71, date(2017, 12, 29), -3500)
    assert (
        "BUCKAROO-T-Mobile Thuis B.V.: Rekening dec 2017. Bekijk je rekening op thuismy.t-mobile.nl"
        in (last["description"])
    )
    assert _row(extract, 1)["external_id"] == "228ohu/972795"
    # the third statement is cut off before its :62F:; the first two balance
    moves = _movement_per_statement(extract)
    assert moves[1] == 226452 - 302696
    assert moves[2] == 225357 - 226452
    assert [b.kind for b in extract.balances] == ["opening", "closing", "opening", "closing", "opening"]


def test_betterplace_german_subfields_sepa_keys_and_funds_code(corpus: Path) -> None:
    extract = _read_not_adding_up(corpus, "wolph-mt940-betterplace-sepa_snippet.sta", [55])
    assert extract.rows.height == 11
    first, last = _row(extract, 0), _row(extract, -1)
    # :61:0709070904CR50990,05NTRFNONREF//0724710333343453: 'CR' is credit + funds code R; entry date 09-04
    assert (first["posted_date"], first["value_date"], first["amount_minor"]) == (
        date(2007, 9, 4), date(2007, 9, 7), 5099005,
    )  # fmt: skip
    assert (first["external_id"], first["description"]) == ("0724710333343453", "Verw CTSc-01 BC-PPP TFNr 22 004")
    assert (first["payee"], first["reference"]) == ("KARL KAUFMANN", "EndToEndId TFNR 22 004 00001")
    assert (last["source_line"], last["amount_minor"], last["description"]) == (53, -357256903, "0904059001")
    assert _balances(extract)[3] == ("opening", date(2007, 9, 3), -197043187, "EUR")  # D balance
    moves = _movement_per_statement(extract)
    assert moves[1] == 112525040 - 76665649
    # the second statement of the snippet is 300.08 off its own balances
    assert moves[2] - (-447204909 - -197043187) == -30008


def test_cmxl_three_currencies_checks_and_a_repeated_bank_reference(corpus: Path) -> None:
    extract = _read(corpus, "wolph-mt940-cmxl-mt940.sta")
    assert extract.rows.height == 16
    assert extract.file_accounts == ["45050050/76198810", "10020030/1234567", "BPHKPLPK/320000546101"]
    first, last = _row(extract, 0), _row(extract, -1)
    assert (first["source_line"], first["amount_minor"], first["currency"]) == (5, -680000, "DEM")  # '6800,'
    assert (first["check_number"], first["description"]) == ("16703074", "999PN5477SCHECK-NR. 0000016703074")
    assert (last["source_line"], last["posted_date"], last["amount_minor"], last["currency"]) == (
        70, date(2003, 10, 20), 4000, "PLN",
    )  # fmt: skip
    assert last["description"] == "Interest credit Odsetki od lokaty nr 101000022086"
    # both transactions of the second statement carry bank reference 55555: neither may keep it
    second = extract.rows.filter(extract.rows["currency"] == "EUR")
    assert second["external_id"].to_list() == [None, None]
    assert second["description"].to_list() == ["Miete November", "Gehalt OktoberFirmaMustermannGmbH"]
    balances = _balances(extract)
    moves = _movement_per_statement(extract)
    for index in (1, 2, 3):
        opening, closing = balances[2 * index - 2], balances[2 * index - 1]
        assert moves[index] == closing[2] - opening[2], index


def test_abnamro_preambles_between_statements_and_intermediate_balances(corpus: Path) -> None:
    extract = _read_not_adding_up(corpus, "wolph-mt940-jejik-abnamro.sta", [27, 40])
    assert extract.rows.height == 10
    assert extract.file_accounts == ["517852257", "517852257"]
    first, last = _row(extract, 0), _row(extract, -1)
    assert (first["source_line"], first["posted_date"], first["amount_minor"]) == (8, date(2011, 5, 24), -900)
    assert first["description"].startswith("GIRO 428428 KPN - DIGITENNE BETALINGSKENM.")
    assert first["description"].endswith("BETREFT FACTUUR D.D. 20-05-2011 INCL. 1,44 BTW")
    assert (last["source_line"], last["amount_minor"], last["description"]) == (
        38, -1500, "52.89.39.882 MYCOM DEN HAAG",
    )  # fmt: skip
    # :61:1105210523D11,59: value date 05-21, booked 05-23
    assert (_row(extract, 1)["value_date"], _row(extract, 1)["posted_date"]) == (date(2011, 5, 21), date(2011, 5, 23))
    assert _balances(extract) == [
        ("opening", date(2011, 5, 22), 323628, "EUR"),
        ("closing", date(2011, 5, 23), 87684, "EUR"),
        ("opening", date(2011, 5, 23), 287684, "EUR"),  # :60M:
        ("closing", date(2011, 5, 24), 184975, "EUR"),  # :62M:
    ]
    # anonymized sample: neither statement's lines add up to its balances
    assert _movement_per_statement(extract) == {1: -32144, 2: -2449}


def test_jejik_ing_legacy_preamble(corpus: Path) -> None:
    extract = _read_not_adding_up(corpus, "wolph-mt940-jejik-ing.sta", [26])
    assert extract.rows.height == 7
    assert extract.file_accounts == ["0001234567"]
    first, last = _row(extract, 0), _row(extract, -1)
    assert (first["source_line"], first["amount_minor"]) == (8, -2503)
    assert first["description"] == (
        "RC AFREKENING BETALINGSVERKEER BETREFT REKENING 4715589 PERIODE: 01-10-2010 / 31-12-2010 "
        "ING Bank N.V. tarifering ING"
    )
    assert (last["source_line"], last["posted_date"], last["amount_minor"]) == (22, date(2010, 7, 23), 100)
    assert _row(extract, 2)["reference"] == "TMG TANGO"
    assert _balances(extract) == [("opening", date(2010, 7, 22), 0, "EUR"), ("closing", date(2010, 7, 23), 347, "EUR")]


def test_postfinance_chf_zero_balance_and_continuation_lines(corpus: Path) -> None:
    extract = _read_not_adding_up(corpus, "wolph-mt940-jejik-postfinance.sta", [27])
    assert extract.rows.height == 4
    first, last = _row(extract, 0), _row(extract, -1)
    assert (first["source_line"], first["amount_minor"], first["currency"], first["external_id"]) == (
        5, 7970, "CHF", None,  # '79,7' and '//NONREF'
    )  # fmt: skip
    assert first["description"] == (
        "GIRO AUS ONLINE-SIC 80532 AUFTRAGGEBER: JANE DOE EXAMPLESTRASSE 10 1234 XXXX 131209CH98765432 "
        "MITTEILUNGEN: RECHNUNG XXXXXXXXXXXX"
    )
    assert (last["source_line"], last["amount_minor"], last["description"]) == (24, 1010, "EINZAHLUNGSSCHEIN")
    assert _balances(extract)[0] == ("opening", date(2013, 11, 30), 0, "CHF")  # '0,'
    moves = _movement_per_statement(extract)
    assert moves[1] == 22920 - 0
    balances = _balances(extract)
    assert moves[2] == -6980  # the sample's second page is 0.20 off its balances
    assert balances[3][2] - balances[2][2] == -6960


def test_old_rabobank_consecutive_86_fields_belong_to_one_line(corpus: Path) -> None:
    extract = _read_not_adding_up(corpus, "wolph-mt940-jejik-rabobank.sta", [11, 28])
    assert extract.rows.height == 5
    assert sorted(set(extract.file_accounts)) == ["1291.99.348", "1526.89.184"]  # ':25:1291.99.348EUR'
    first, last = _row(extract, 0), _row(extract, -1)
    assert (first["source_line"], first["posted_date"], first["amount_minor"]) == (6, date(2011, 5, 27), -121328)
    assert first["description"] == "Terugboeking NIET AKKOORD MET AFSCHRIJVING KOSTEN KINDEROPVANG JUNI 20095731"
    assert first["reference"] == "0121470966 W.P. Jansen"
    assert (last["source_line"], last["amount_minor"], last["description"]) == (
        39, -620, "Betaalautomaat 08:22 pasnr. 001",
    )  # fmt: skip
    assert _balances(extract)[0] == ("opening", date(2011, 6, 14), 47317, "EUR")  # '000000000473,17'


def test_triodos_numbered_subfields_with_angle_brackets(corpus: Path) -> None:
    extract = _read_not_adding_up(corpus, "wolph-mt940-jejik-triodos.sta", [12])
    assert extract.rows["description"].to_list() == [
        "ALGEMENE TUSSENREKENING KOSTEN VAN 01-10-2010 TOT EN MET 31-12-2010",
        "HUUR KANTOOR - FEB 2010",
    ]
    assert extract.rows["amount_minor"].to_list() == [-1570, -70000]
    assert extract.rows["source_line"].to_list() == [5, 9]
    assert _balances(extract) == [
        ("opening", date(2011, 1, 1), 497509, "EUR"),
        ("closing", date(2011, 2, 1), 437079, "EUR"),
    ]


def test_mbank_soh_and_etx_bytes_around_the_message(corpus: Path) -> None:
    extract = _read(corpus, "wolph-mt940-mBank-mt940.sta")
    assert extract.rows.height == 3
    assert extract.file_accounts == ["PL29114010810000267002001002"]
    assert extract.rows["external_id"].to_list() == ["MB170119012058", "MB170119012085", "MB170119012121"]
    assert extract.rows["source_line"].to_list() == [6, 12, 18]
    first = _row(extract, 0)
    assert (first["amount_minor"], first["currency"]) == (1, "PLN")  # 'CN0,01': credit, funds code N
    assert first["description"].startswith("911-TRANSAKCJA IPH 911 TRANSAKCJA COLLECT; ID IPH: XX000000000001;")
    assert extract.rows["amount_minor"].sum() == 43 - 40
    assert _balances(extract)[-1] == ("available", date(2017, 1, 19), 43, "PLN")


def test_sberbank_ns_subfields_and_crlf(corpus: Path) -> None:
    extract = _read(corpus, "wolph-mt940-sberbank-171011_01234945.sta")
    assert extract.rows.height == 3
    first, last = _row(extract, 0), _row(extract, -1)
    assert (first["source_line"], first["amount_minor"], first["currency"]) == (12, -240200, "HUF")
    # the upstream file already holds U+FFFD where the accented letters were
    assert first["description"] == "Tranzakci\ufffds Illet\ufffdk:7.21HUF"
    assert first["payee"] == "ERGO Versicherung AG Fioktelep"
    assert (last["source_line"], last["amount_minor"]) == (35, -357500)
    assert extract.rows["amount_minor"].sum() == 61787430 - 62731130


def test_raiffeisen_cp852_decodes_to_hungarian_letters(corpus: Path) -> None:
    extract = _read_not_adding_up(corpus, "wolph-mt940-self-provided-raiffeisen-cmi.sta", [40])
    assert extract.rows.height == 7
    assert extract.file_accounts == ["UBRTHUHB/123456789150ABCDEF002"]
    first, last = _row(extract, 0), _row(extract, -1)
    # ':61:180417CF2066637,00N527': no entry date, funds code F
    assert (first["source_line"], first["posted_date"], first["amount_minor"]) == (6, date(2018, 4, 17), 206663700)
    assert first["description"].startswith("Csoportos átutalás jóváírása CAB18D1700041116")
    assert "napi összevont utánvét" in first["description"]
    assert _row(extract, 1)["description"].startswith("Bankon belüli átutalás")
    assert (last["source_line"], last["amount_minor"], last["description"]) == (
        36, -600000, "Díj, jutalék OLD18D038146 HUF 1.218.882,00",
    )  # fmt: skip
    assert json.loads(first["raw"])["encoding"] == "cp852"
    assert _balances(extract)[0] == ("opening", date(2018, 4, 17), 2517063710, "HUF")


def test_every_corpus_file_is_detected_as_mt940(corpus: Path) -> None:
    for path in sorted((corpus / "mt940").iterdir()):
        found = detect(path, "bank")
        assert found is not None, path.name
        assert found.format == "mt940", path.name


# --- generated files ---------------------------------------------------------------------

_STATEMENT = """:20:STMT1
:25:DE89370400440532013000
:28C:1/1
:60F:C260301EUR100,00
:61:2603010301D12,50NTRFNONREF//BANKREF1
:86:166?00SEPA?20SVWZ+Rent March?32LANDLORD GMBH
:61:2603020302RD2,00NMSCNONREF//BANKREF2
:86:Refund of a returned debit
:61:2603020302RC1,00NMSCNONREF
:62F:C260302EUR88,50
-
"""


def _write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "statement.sta"
    path.write_bytes(text.encode(encoding))
    return path


def test_reversal_marks_take_the_opposite_sign(tmp_path: Path) -> None:
    extract = MT940.extract(_write(tmp_path, _STATEMENT), currency="EUR")
    assert extract.problems == []
    assert extract.rows["amount_minor"].to_list() == [-1250, 200, -100]  # D, RD (money back in), RC
    assert extract.rows["transaction_type"].to_list() == ["NTRF", "NMSC reversal", "NMSC reversal"]
    assert (_row(extract, 0)["description"], _row(extract, 0)["payee"]) == ("Rent March", "LANDLORD GMBH")
    assert extract.rows["amount_minor"].sum() == 8850 - 10000


def test_mt942_takes_its_currency_from_the_floor_limit(tmp_path: Path) -> None:
    report = ":20:INTRADAY\n:25:CH9300762011623852957\n:28C:7/1\n:34F:CHF0,\n:13D:2603021200+0100\n"
    report += ":61:260302C250,NTRFNONREF//INTRA1\n:86:Payment from customer\n:90C:1CHF250,\n-\n"
    path = _write(tmp_path, report)
    assert MT940.identify(path)
    extract = MT940.extract(path, currency="EUR")
    assert extract.problems == []
    row = _row(extract, 0)
    assert (row["currency"], row["amount_minor"], row["pending"], row["external_id"]) == ("CHF", 25000, False, "INTRA1")


def test_latin1_text_is_read_as_western_european(tmp_path: Path) -> None:
    text = _STATEMENT.replace("Refund of a returned debit", "Rückbuchung Müller Straße")
    extract = MT940.extract(_write(tmp_path, text, "latin-1"), currency="EUR")
    assert _row(extract, 1)["description"] == "Rückbuchung Müller Straße"


def test_bad_amount_is_refused_with_file_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, _STATEMENT.replace("D12,50NTRF", "D12,5x0NTRF"))
    extract = MT940.extract(path, currency="EUR")
    assert len(extract.problems) == 1
    problem = extract.problems[0]
    assert (problem.line, problem.field) == (5, ":61: amount")
    assert str(problem) == f"{path}:5: field ':61: amount': '12,5x0' is not a number"


def test_amount_without_decimal_comma_and_bad_date_are_refused(tmp_path: Path) -> None:
    text = _STATEMENT.replace("D12,50NTRF", "D12.50NTRF").replace(":60F:C260301", ":60F:C260231")
    problems = MT940.extract(_write(tmp_path, text), currency="EUR").problems
    assert [(p.line, p.field) for p in problems] == [(4, ":60F: date"), (5, ":61: amount")]
    assert "'260231' is not a valid YYMMDD date" in problems[0].message


def test_text_without_statements_is_refused(tmp_path: Path) -> None:
    extract = MT940.extract(_write(tmp_path, "just some text\n"), currency="EUR")
    assert [p.message for p in extract.problems] == ["no MT940/MT942 statement found: expected a ':20:' field"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.integers(min_value=0, max_value=len(_STATEMENT)),
    junk=st.text(alphabet=":0123456789CDRN,/?-{}\n ÄX", max_size=30),
)
def test_damaged_statements_give_problems_never_a_traceback(tmp_path: Path, cut: int, junk: str) -> None:
    extract = MT940.extract(_write(tmp_path, _STATEMENT[:cut] + junk + _STATEMENT[cut:]), currency="EUR")
    assert all(isinstance(p, Problem) for p in extract.problems)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_give_problems_never_a_traceback(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "garbage.sta"
    path.write_bytes(data)
    extract = MT940.extract(path, currency="EUR")
    assert all(isinstance(p, Problem) for p in extract.problems)


def test_importing_a_file_twice_adds_nothing_the_second_time(corpus: Path, tmp_path: Path) -> None:
    from recon.config import AccountSettings
    from recon.importing import ImportJob, import_file
    from recon.store import open_store

    path = corpus / "mt940" / "oca-test-sns.940"  # three statements of one account, most rows without an id
    with open_store(tmp_path / "s.duckdb") as store:
        job = ImportJob(path, "bank", AccountSettings(id="sns", currency="EUR"), "mt940")
        first = import_file(store, job, run_id="r1")
        again = import_file(store, job, run_id="r2")
        stored = store.con.execute("SELECT count(*), sum(amount_minor) FROM bank_transactions").fetchone()
    assert (first.problems, first.rows_new) == ([], 8)
    assert (again.rows_new, again.rows_known) == (0, 8)
    assert stored == (8, -71313 - 1018 - 1352 - 2561 - 1095 + 0 - 90729 - 3500)
