from pathlib import Path

import pytest

from recon.config import XeroSettings, load_config
from recon.errors import ConfigError

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


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ('[matching]\nauto_threshold = "high"', "matching.auto_threshold", "valid number"),
        ("[matching]\nauto_threshold = 0.5\nsuggest_threshold = 0.7", "matching", "must not be above"),
        ('[[ledgers]]\naccount = "savings"\npaths = ["x.csv"]', "", "unknown account 'savings'"),
        ('[[sources]]\naccount = "checking"\nformat = "qif"\npaths = ["a"]', "sources[1].format", "'ofx'"),
        ('[[sources]]\naccount = "checking"\nformat = "plaid"', "sources[1]", "access_token_env"),
        ('[xero]\ntenant_id = "t"\ntoken_url = "http://identity.example.com/t"', "xero.token_url", "must be https://"),
        ('[xero]\ntenant_id = "t"\nclient_secret_env = "the secret itself"', "xero.client_secret_env", "pattern"),
    ],
)
def test_invalid_values_are_named(tmp_path: Path, extra: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, GOOD + "\n" + extra + "\n"))
    assert str(tmp_path) in str(err.value)
    assert f"key '{key}'" in str(err.value) or not key
    assert words in str(err.value)


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
