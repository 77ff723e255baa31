"""The README is the user's reference: it must show the two commands and every table and column."""

import re
from pathlib import Path

from recon.model import BANK_TRANSACTIONS, LEDGER_ENTRIES, STATEMENT_BALANCES
from recon.store import open_store
from tests.helpers import recon

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
CI = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()

RUN_COMMAND = "python -m pip install -e . && recon run --config sample_data/recon.toml"
TEST_COMMAND = "python -m pip install -e '.[test]' && python -m pytest"


def test_readme_gives_the_two_commands_and_ci_runs_the_test_command() -> None:
    assert RUN_COMMAND in README.splitlines()
    assert TEST_COMMAND in README.splitlines()
    assert TEST_COMMAND in CI.splitlines()


def test_every_row_column_is_documented() -> None:
    for table in (BANK_TRANSACTIONS, LEDGER_ENTRIES, STATEMENT_BALANCES):
        section = README.split(f"#### `{table.name}`", 1)[1].split("####", 1)[0]
        documented = re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)
        assert documented == table.names, table.name


def test_every_store_table_is_documented(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        tables = [r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    for table in tables:
        assert f"`{table}`" in README, table


def test_readme_shows_the_demo_summary_the_demo_prints(demo: Path) -> None:
    shown = README.split("The demo prints a summary like\n\n```\n", 1)[1].split("```", 1)[0].splitlines()
    result = recon("run", "--config", demo / "recon.toml")
    assert result.returncode == 0, result.stderr
    printed = result.stdout.replace(f"{demo}/", "sample_data/").splitlines()
    for line in shown:  # a line the README cuts short ("; ...") is the start of the printed one
        assert any(p == line or (line.endswith("...") and p.startswith(line[:-3])) for p in printed), line
    assert len(shown) == len(printed) - 1  # the README shows one of the two rows no rule categorizes
