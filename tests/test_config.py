import tomllib
from pathlib import Path

import pytest

from recon.config import WRITABLE_LEDGER_FORMATS, XeroSettings, load_config
from recon.errors import ConfigError
from recon.toml_lines import key_lines, line_of
from recon.writeback.service import SINKS
from tests.helpers import recon

GOOD = """
[store]
path = "recon.duckdb"

[[accounts]]
id = "checking"
currency = "USD"

[[sources]]
account = "checking"
format = "ofx"
paths = ["bank/*.ofx"]

[[ledgers]]
account = "checking"
paths = ["ledger/gl.csv"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recon.toml"
    path.write_text(text)
    return path


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    assert config.store_path == tmp_path.resolve() / "recon.duckdb"
    assert config.output_dir == tmp_path.resolve() / "out"
    assert config.matching.auto_threshold == 0.90


def test_unknown_key_is_named_with_file_and_line(tmp_path: Path) -> None:
    text = GOOD + "\n[matching]\nauto_treshold = 0.8\n"
    line = text.splitlines().index("auto_treshold = 0.8") + 1
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert f"{path}:{line}: key 'matching.auto_treshold': unknown key" in message


# Each bad config: what is added to GOOD (the line marked `# here` is where the error must point),
# the dotted key the error names, and words of its message.
BAD = [
    ('[matching]\nauto_threshold = "high"  # here', "matching.auto_threshold", 'valid number, got the string "high"'),
    ("[matching]\nauto_threshold = 0.5\nsuggest_threshold = 0.7  # here", "matching.suggest_threshold", "not be above"),
    ('[[ledgers]]\naccount = "savings"  # here\npaths = ["x.csv"]', "ledgers[1].account", "unknown account 'savings'"),
    ('[[sources]]\naccount = "savings"  # here\npaths = ["a"]', "sources[1].account", "unknown account 'savings'"),
    ('[[sources]]\naccount = "checking"\nformat = "qif"  # here\npaths = ["a"]', "sources[1].format", "'ofx'"),
    ('[[sources]]  # here\naccount = "checking"\nformat = "plaid"', "sources[1].access_token_env", "plaid source"),
    ('[[sources]]\naccount = "checking"\nformat = "ofx"\npaths = "bank/*.ofx"  # here', "sources[1].paths", "list"),
    (
        '[[sources]]\naccount = "checking"\nformat = "ofx"\nprofile = "p.toml"  # here\npaths = ["a"]',
        "sources[1].profile",
        "profile is for CSV",
    ),
    ('[[ledgers]]  # here\npaths = ["x.csv"]', "ledgers[1].account", "Field required"),
    (
        '[[ledgers]]\naccount = "checking"\nformat = "csv"\npaths = ["x.csv"]\nwriteback = true  # here',
        "ledgers[1].writeback",
        "csv export cannot be written back; write-back works with these books: beancount",
    ),
    (
        '[[ledgers]]\naccount = "checking"\nformat = "quickbooks"\npaths = ["x.csv"]\nwriteback = true  # here',
        "ledgers[1].writeback",
        "quickbooks export cannot be written back",
    ),
    (
        '[[ledgers]]\naccount = "checking"\nformat = "beancount"\npaths = ["m.bean"]\nwriteback = "off"  # here',
        "ledgers[1].writeback",
        'valid boolean, got the string "off"',
    ),
    (
        '[[ledgers]]\naccount = "checking"\nformat = "beancount"\npaths = ["m.bean"]\nwriteback = 1  # here',
        "ledgers[1].writeback",
        "valid boolean, got the integer 1",
    ),
    (
        '[[ledgers]]\naccount = "checking"\nformat = "xero"\npaths = ["x.csv"]\nwriteback = true  # here',
        "ledgers[1].writeback",
        "needs a [xero] section",
    ),
    (
        '[matching]\namount_tolerance_minor = "5"  # here',
        "matching.amount_tolerance_minor",
        "valid integer, got the string",
    ),
    (
        "[matching]\nbank_days_after_books = 7.0  # here",
        "matching.bank_days_after_books",
        "valid integer, got the float",
    ),
    ('[notify]\non_failure = "yes"  # here', "notify.on_failure", "valid boolean"),
    ('[notify]\nretries = "3"  # here', "notify.retries", "valid integer"),
    ("[output]\ndir = 5  # here", "output.dir", "got the integer 5"),
    ('[rules]\npaths = [\n  "a.yaml",\n  3,  # here\n]', "rules.paths[1]", "valid string"),
    ('[[accounts]]\nid = "checking"  # here\ncurrency = "USD"', "accounts[1].id", "defined twice"),
    (
        '[[accounts]]\nid = "s"\ncurrency = "USD"\nbook_balance = { date = 2024-02-29, amount = 1500.10 }  # here',
        "accounts[1].book_balance.amount",
        "quoted decimal",
    ),
    (
        '[[accounts]]\nid = "s"\ncurrency = "USD"\n[accounts.book_balance]\ndate = 2024-02-29\namount = "1.234" # here',
        "accounts[1].book_balance.amount",
        "1.234",
    ),
    (
        '[[accounts]]\nid = "s"\ncurrency = "USD"\nbook_balance.date = "2024-02-29"  # here\nbook_balance.amount = "1"',
        "accounts[1].book_balance.date",
        "valid date",
    ),
    (
        '[[sources]]\naccount = "checking"\nformat = "plaid"\naccess_token_env = "T"\n'
        '[[sources]]\naccount = "checking"\nformat = "plaid"\naccess_token_env = "T"\nenvironment = "sandbox"  # here',
        "sources[2].environment",
        "Item T is synced from https://production.plaid.com by an earlier source, not https://sandbox.plaid.com",
    ),
    (
        '[[sources]]\naccount = "checking"\nformat = "plaid"\naccess_token_env = "T"\n'
        '[[sources]]\naccount = "checking"\nformat = "plaid"\naccess_token_env = "T"\nplaid_account_id = "p2"  # here',
        "sources[2].plaid_account_id",
        "Item T: an earlier source without plaid_account_id takes all its accounts",
    ),
    (
        '[[accounts]]  # here\nid = "s"\ncurrency = "USD"\n'
        '[[ledgers]]\naccount = "s"\nformat = "xero"\npaths = ["x.csv"]\nwriteback = true\n[xero]\ntenant_id = "t"',
        "accounts[1].xero_bank_account_id",
        "account 's' needs xero_bank_account_id (or xero_bank_account_code) to write back to Xero (ledgers[1])",
    ),
    ('[xero]\ntenant_id = "t"\ntoken_url = "http://identity.example.com/t"  # here', "xero.token_url", "https://"),
    ('[xero]\ntenant_id = "t"\nclient_secret_env = "the secret itself"  # here', "xero.client_secret_env", "pattern"),
    (
        '[xero]\ntenant_id = "t"\naccount_codes = { fees = "6000", rent = 6100 }  # here',
        "xero.account_codes.rent",
        "valid string",
    ),
    ('[xero]\ntenant_id = "t"\naccount_codes.fees = 6000  # here', "xero.account_codes.fees", "valid string"),
    (
        '[xero]\ntenant_id = """t\n[fake]\ndefault_contact = 1"""\ndefault_contact = 5  # here',
        "xero.default_contact",
        "valid string",
    ),
]


@pytest.mark.parametrize(("extra", "key", "words"), BAD, ids=[key for _, key, _ in BAD])
def test_every_bad_key_is_named_with_file_line_and_key(tmp_path: Path, extra: str, key: str, words: str) -> None:
    text = GOOD + "\n" + extra + "\n"
    line = next(n for n, content in enumerate(text.splitlines(), 1) if content.endswith("# here"))
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}:{line}: key '{key}': " in str(err.value)
    assert words in str(err.value)


def test_several_problems_are_all_named_in_the_order_of_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + '[matching]\nbank_days_after_books = 7.0\namount_tolerance_minor = "5"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).splitlines() == [
        f"{path}:18: key 'matching.bank_days_after_books': Input should be a valid integer, got the float 7.0",
        f"{path}:19: key 'matching.amount_tolerance_minor': Input should be a valid integer, got the string \"5\"",
    ]


def test_writable_formats_are_the_write_back_sinks() -> None:
    assert set(WRITABLE_LEDGER_FORMATS) == set(SINKS)


def test_run_refuses_write_back_to_a_csv_export_before_importing_anything(tmp_path: Path) -> None:
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "gl.csv").write_text("date,amount,description,account\n")
    path = _write(tmp_path, GOOD + "writeback = true\n")
    result = recon("run", "--config", path)
    assert result.returncode == 2, result.stderr
    assert (
        f"{path}:{GOOD.count(chr(10)) + 1}: key 'ledgers[0].writeback': a csv export cannot be written back"
        in result.stderr
    )
    assert "beancount, hledger, gnucash, xero" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "recon.duckdb").exists()


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[store\npath = 1"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_bad_currency_code(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"key 'accounts\[0\].currency'"):
        load_config(_write(tmp_path, GOOD.replace('currency = "USD"', 'currency = "usd"')))


def test_xero_credentials_are_named_by_variables_with_xeros_defaults() -> None:
    settings = XeroSettings(tenant_id="t")
    assert (settings.token_env, settings.client_id_env, settings.client_secret_env) == (
        "XERO_ACCESS_TOKEN", "XERO_CLIENT_ID", "XERO_CLIENT_SECRET",
    )  # fmt: skip
    assert settings.token_url == "https://identity.xero.com/connect/token"


def test_key_lines_follow_every_shape_of_toml() -> None:
    text = "\n".join(
        [
            'title = "x"  # a comment',  # 1
            "[[accounts]]",  # 2
            "book_balance = { date = 2024-02-29, amount = 1 }",  # 3
            '\'quoted.key\' = """multi \\"""',  # 4
            "[notatable]",  # 5
            'x = 1"""',  # 6
            "[[accounts]]",  # 7
            "when = 1979-05-27 07:32:00Z",  # 8
            "[[accounts.sub]]",  # 9
            "y = [",  # 10
            "  1, # ]",  # 11
            '  "]", {a = 1},',  # 12
            "]",  # 13
            "a.b = 2",  # 14
            "sources = [",  # 15
            '  {account = "x"},',  # 16
            '  {account = "y", format = "ofx"},',  # 17
            "]",  # 18
        ]
    )
    assert tomllib.loads(text)["accounts"][0]["quoted.key"] == 'multi """\n[notatable]\nx = 1'
    lines = key_lines(text)
    assert lines[("title",)] == 1
    assert lines[("accounts", 0, "book_balance", "amount")] == 3
    assert lines[("accounts", 0, "quoted.key")] == 4
    assert ("notatable",) not in lines
    assert lines[("accounts", 1)] == 7
    assert lines[("accounts", 1, "when")] == 8
    assert lines[("accounts", 1, "sub", 0, "y", 1)] == 12
    assert lines[("accounts", 1, "sub", 0, "y", 2, "a")] == 12
    assert lines[("accounts", 1, "sub", 0, "a", "b")] == 14
    assert lines[("accounts", 1, "sub", 0, "sources", 1, "format")] == 17
    assert line_of(lines, ("accounts", 1, "sub", 0, "sources", 1, "missing")) == 17
