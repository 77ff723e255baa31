"""Files that hold several accounts: each [[sources]] takes its own by file_account, or the file is refused."""

from pathlib import Path

from tests.helpers import count, recon


def _config(tmp_path: Path, corpus: Path, *sources: tuple[str, str | None]) -> Path:
    text = '[[accounts]]\nid = "a"\ncurrency = "USD"\n\n[[accounts]]\nid = "b"\ncurrency = "USD"\n'
    for account, file_account in sources:
        text += f'\n[[sources]]\naccount = "{account}"\nformat = "bai2"\n'
        text += f'paths = ["{corpus / "bai2" / "moov-bai2-sample2.txt"}"]\n'
        if file_account:
            text += f'file_account = "{file_account}"\n'
    path = tmp_path / "recon.toml"
    path.write_text(text)
    return path


def test_a_multi_account_file_without_file_account_is_refused(tmp_path: Path, corpus: Path) -> None:
    result = recon("run", "--config", _config(tmp_path, corpus, ("a", None)))
    assert result.returncode == 2
    assert "accounts (" in result.stderr
    assert "name the one of this source with file_account" in result.stderr
    assert count(tmp_path / "recon.duckdb", "SELECT count(*) FROM bank_transactions") == 0


def test_each_source_takes_its_own_account_from_the_file(tmp_path: Path, corpus: Path) -> None:
    accounts = [line.split(",")[1] for line in (corpus / "bai2" / "moov-bai2-sample2.txt").read_text().splitlines()
                if line.startswith("03,")]  # fmt: skip
    first, second = accounts[0], accounts[1]
    result = recon("run", "--config", _config(tmp_path, corpus, ("a", first), ("b", second)))
    assert result.returncode == 0, result.stderr
    store = tmp_path / "recon.duckdb"
    in_a = count(store, "SELECT count(*) FROM bank_transactions WHERE account_id = 'a'")
    in_b = count(store, "SELECT count(*) FROM bank_transactions WHERE account_id = 'b'")
    assert in_a + in_b > 0
    # no row is stored under both accounts
    assert count(
        store, "SELECT count(*) FROM bank_transactions a JOIN bank_transactions b ON a.source_line = b.source_line "
               "WHERE a.account_id = 'a' AND b.account_id = 'b'"
    ) == 0  # fmt: skip


def test_a_file_without_the_configured_account_is_refused(tmp_path: Path, corpus: Path) -> None:
    result = recon("run", "--config", _config(tmp_path, corpus, ("a", "999999999")))
    assert result.returncode == 2
    assert "the file holds no account 999999999" in result.stderr
