"""Bank and book files recon must refuse, through the real CLI: each with its file, line and what is wrong,
exit code 2, nothing of it stored, and the other files of the run still imported.

Cut-short files (a download that stopped), files nobody can read, amounts out of range, journals
hledger refuses, and exports in an encoding or with a delimiter the profile does not say.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bench.ofx_writer import OfxTxn, ofx_statement
from tests.helpers import count, recon

CONFIG = """
[[accounts]]
id = "checking"
currency = "USD"
ledger_account = "Assets:Bank:Checking"
"""

TXNS = [OfxTxn(f"F{i}", date(2026, 7, i), Decimal(f"-{i}.25"), f"SHOP {i}") for i in range(1, 6)]


def _config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "recon.toml"
    config.write_text(CONFIG + extra)
    return config


def _ofx_text(txns: list[OfxTxn] = TXNS) -> str:
    return ofx_statement(
        txns, account_id="42", currency="USD", start=date(2026, 7, 1), end=date(2026, 7, 31), balance=Decimal("100")
    )


def _stored(tmp_path: Path) -> int:
    store = tmp_path / "recon.duckdb"
    return count(store, "SELECT count(*) FROM bank_transactions") if store.exists() else 0


def _refused(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


# --- cut short ---------------------------------------------------------------------------


def test_ofx_cut_inside_a_transaction_is_refused_whole(tmp_path: Path) -> None:
    text = _ofx_text()
    cut = text[: text.rindex("<TRNAMT>") + len("<TRNAMT>-5.2")]  # the last transaction's amount half written
    path = tmp_path / "cut.ofx"
    path.write_text(cut)
    last_line = cut.count("\n") + 1
    opened = text[: text.rindex("<STMTTRN>")].count("\n") + 1
    _refused(
        recon("import", "--config", _config(tmp_path), path),
        f"{path}:{last_line}: the file ends before the end of <STMTTRN> (line {opened}) and </OFX> (cut short?)",
    )
    assert _stored(tmp_path) == 0


def test_ofx_cut_between_transactions_is_refused_whole(tmp_path: Path) -> None:
    text = _ofx_text()
    path = tmp_path / "cut.ofx"
    path.write_text(text[: text.index("</BANKTRANLIST>")])
    _refused(recon("import", "--config", _config(tmp_path), path), "the file ends before the end of <BANKTRANLIST>")
    assert _stored(tmp_path) == 0


def test_corpus_qfx_cut_with_head_c_is_refused(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.qfx"
    path.write_bytes((corpus / "ofx" / "reds-capitalonebank-360Checking.qfx").read_bytes()[:1086])
    _refused(
        recon("import", "--config", _config(tmp_path), path),
        f"{path}:40: the file ends before the end of <STMTTRN> (line 36) and </OFX> (cut short?)",
    )
    assert _stored(tmp_path) == 0


MT940 = """{1:F01INGBNL2ABXXX0000000000}{2:I940INGBNL2AXXXN}{4:
:20:P1
:25:NL77INGB0574908765
:28C:1/1
:60F:C260301USD100,00
:61:2603010301D12,50NTRFNONREF//REF1
:86:Rent March
:61:2603020302C2,00NTRFNONREF//REF2
:86:Refund
:62F:C260302USD89,50
-}
"""


def test_mt940_cut_short_without_closing_balance_and_envelope_end_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.940"
    path.write_text("\n".join(MT940.splitlines()[:8]) + "\n")  # up to the second :61:
    _refused(
        recon("import", "--config", _config(tmp_path), path),
        f"{path}:8: the file ends before the closing balance (:62F:) and the end of the SWIFT message ('-}}') "
        "of the statement of line 2 (cut short?)",
    )
    assert _stored(tmp_path) == 0


def test_mt940_without_envelope_cut_before_its_closing_balance_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.940"
    path.write_text("\n".join(MT940.splitlines()[1:8]) + "\n")
    _refused(recon("import", "--config", _config(tmp_path), path), "the file ends before the closing balance (:62F:)")


def test_mt940_statement_that_does_not_add_up_is_imported_with_a_warning_giving_both_figures(tmp_path: Path) -> None:
    good = tmp_path / "ok.940"
    good.write_text(MT940)
    quiet = recon("import", "--config", _config(tmp_path), good)
    assert quiet.returncode == 0
    assert "does not add up" not in quiet.stderr
    path = tmp_path / "off.940"
    path.write_text(MT940.replace("C2,00NTRF", "C2,10NTRF").replace(":20:P1", ":20:P2"))
    warned = recon("import", "--config", _config(tmp_path), path)
    assert warned.returncode == 0, warned.stderr
    assert (
        f"{path}:10: the statement of lines 2-11 does not add up: its opening balance 100.00 plus its movements "
        "-10.40 is 89.60, but its closing balance is 89.50 USD: a movement may be missing or wrong"
    ) in warned.stderr


def test_mt940_amount_is_quoted_as_written(tmp_path: Path) -> None:
    path = tmp_path / "dec.940"
    path.write_text(MT940.replace("D12,50NTRF", "D12,505NTRF"))
    _refused(
        recon("import", "--config", _config(tmp_path), path),
        f"{path}:6: field ':61: amount': '12,505' has more than 2 decimals for USD",
    )


# --- files that cannot be read -----------------------------------------------------------


def _unreadable(tmp_path: Path) -> Path:
    """A file whose opening raises PermissionError: mode 000, or for root (who may read anything) /proc/1/mem."""
    if os.geteuid() != 0:
        path = tmp_path / "secret.ofx"
        path.write_text(_ofx_text())
        path.chmod(0)
        return path
    path = Path("/proc/1/mem")
    try:
        path.open("rb").close()
    except PermissionError:
        return path
    except OSError as exc:
        pytest.skip(f"running as root, and /proc/1/mem is no file that refuses reading here ({exc})")
    pytest.skip("running as root, and /proc/1/mem can be opened here: no file refuses reading")


def test_unreadable_source_is_that_files_problem_and_the_others_are_imported(tmp_path: Path) -> None:
    unreadable = _unreadable(tmp_path)
    (tmp_path / "good.ofx").write_text(_ofx_text())
    config = _config(
        tmp_path,
        f'[[sources]]\naccount = "checking"\nformat = "ofx"\npaths = ["{unreadable}"]\n'
        '[[sources]]\naccount = "checking"\nformat = "ofx"\npaths = ["good.ofx"]\n',
    )
    for command in ("import", "run"):
        result = recon(command, "--config", config)
        _refused(result, f"{unreadable}: cannot read it (permission denied)")
        assert _stored(tmp_path) == len(TXNS), command


def test_directory_and_empty_file_say_what_they_are(tmp_path: Path) -> None:
    folder = tmp_path / "statements"
    folder.mkdir()
    empty = tmp_path / "empty.ofx"
    empty.write_bytes(b"")
    result = recon("import", "--config", _config(tmp_path), folder, empty)
    _refused(result, f"{folder}: is a directory, not a file")
    assert f"{empty}: the file is empty" in result.stderr


# --- amounts -----------------------------------------------------------------------------


def test_ofx_amount_beyond_what_recon_stores_is_out_of_range(tmp_path: Path) -> None:
    text = _ofx_text().replace("<TRNAMT>-3.25", "<TRNAMT>99999999999999999999999.99")
    path = tmp_path / "huge.ofx"
    path.write_text(text)
    line = text[: text.index("<TRNAMT>99999")].count("\n") + 1
    _refused(
        recon("import", "--config", _config(tmp_path), path),
        f"{path}:{line}: field 'TRNAMT': amount out of range: '99999999999999999999999.99'",
    )
    assert _stored(tmp_path) == 0


# --- books -------------------------------------------------------------------------------

UNBALANCED = """2026-07-01 Card abroad
    Expenses:Travel    10.00 EUR @ $1.0833
    Assets:Bank:Checking    $-10.83

2026-07-02 Exchange
    Assets:Bank:Checking    $-20.00
    Assets:Cash    18.00 EUR

2026-07-03 Rent
    Assets:Bank:Checking    $-1200.00
    Expenses:Rent            $1195.49

2026-07-04 Coffee
    Assets:Bank:Checking    $-4.75
    Expenses:Coffee
"""


def test_unbalanced_journal_transaction_is_refused_as_hledger_does(tmp_path: Path) -> None:
    journal = tmp_path / "book.journal"
    journal.write_text(UNBALANCED)
    result = recon("import", "--config", _config(tmp_path), "--ledger", "--format", "hledger", journal)
    _refused(result, f"{journal}:9: field 'amount': the transaction does not balance: its postings add up to $-4.51")
    # a price or two commodities: hledger infers or rounds the conversion, recon does not judge them
    assert result.stderr.count("does not balance") == 1
    if shutil.which("hledger"):
        checked = subprocess.run(["hledger", "-f", str(journal), "check"], capture_output=True, text=True)
        assert checked.returncode != 0
        assert "lines 9-11" in checked.stderr, checked.stderr


# --- CSV encodings and delimiters --------------------------------------------------------

CHASE = (
    "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n"
    "DEBIT,03/02/2024,COFFEE SHOP,-4.75,DEBIT_CARD,1495.25,\n"
    "CREDIT,03/03/2024,PAYROLL,2000.00,ACH_CREDIT,3495.25,\n"
)


def test_utf16_export_of_a_known_bank_is_detected_and_read(tmp_path: Path) -> None:
    path = tmp_path / "chase.csv"
    path.write_bytes(CHASE.encode("utf-16"))  # with its byte order mark, as Excel's "Unicode text" writes it
    result = recon("import", "--config", _config(tmp_path), path)
    assert result.returncode == 0, result.stderr
    assert _stored(tmp_path) == 2


def test_utf16_export_under_a_latin1_profile_is_read_as_utf16(tmp_path: Path) -> None:
    path = tmp_path / "chase.csv"
    path.write_bytes(CHASE.encode("utf-16"))
    profile = tmp_path / "bank.toml"
    profile.write_text(
        'name = "bank"\nencoding = "latin-1"\ndate_formats = ["%m/%d/%Y"]\n'
        '[columns]\ndate = "Posting Date"\ndescription = "Description"\namount = "Amount"\n'
    )
    result = recon("import", "--config", _config(tmp_path), "--profile", profile, path)
    assert result.returncode == 0, result.stderr  # the byte order mark says UTF-16, whatever the profile says
    assert _stored(tmp_path) == CHASE.count("\n") - 1


def test_semicolon_export_of_a_known_bank_names_the_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "chase.csv"
    path.write_text(CHASE.replace(",", ";"))
    _refused(
        recon("import", "--config", _config(tmp_path), path),
        f'{path}: this looks like a chase-checking export, but delimited by ";" where chase-checking has ","',
    )
    _refused(
        recon("import", "--config", _config(tmp_path), "--profile", "chase-checking", path),
        f'{path}: the header is delimited by ";", not by "," as profile chase-checking says: set delimiter = ";"',
    )


# --- ids ---------------------------------------------------------------------------------


def test_ofx_empty_fitid_is_refused_rather_than_stored_twice(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = tmp_path / "first.ofx"
    first.write_text(_ofx_text())
    assert recon("import", "--config", config, first).returncode == 0
    text = _ofx_text().replace("<FITID>F3", "<FITID>")
    again = tmp_path / "again.ofx"
    again.write_text(text)
    line = text[: text.index("<FITID>\r\n")].count("\n") + 1
    _refused(recon("import", "--config", config, again), f"{again}:{line}: field 'FITID': empty transaction id")
    assert _stored(tmp_path) == len(TXNS)
