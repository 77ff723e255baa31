"""The config file (`recon.toml`), validated once at the edge.

Inside the engine settings are these typed objects, never raw dicts. Every mistake
is reported with the file, the line of the key (or of its table, for a missing key)
and the dotted key (`recon.toml:12: key 'sources[1].format': ...`), and recon exits
with code 2. Values are strict: TOML has real booleans, integers and dates, so a
quoted `"5"` or `"yes"` is refused rather than coerced (an integer may stand for a float).
"""

from __future__ import annotations

import datetime as dt
import glob
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from recon.errors import ConfigError
from recon.money import AmountError, parse_amount
from recon.toml_lines import KeyPath, key_lines, line_of

__all__ = [
    "PLAID_HOSTS",
    "WRITABLE_LEDGER_FORMATS",
    "AccountSettings",
    "BankSource",
    "Config",
    "LedgerSource",
    "MatchingSettings",
    "XeroSettings",
    "load_config",
]

PLAID_HOSTS = {"sandbox": "https://sandbox.plaid.com", "production": "https://production.plaid.com"}
"""`environment` -> API host (plaid.Environment's values, without importing plaid for them)."""

BankFormat = Literal["ofx", "csv", "camt053", "mt940", "bai2", "plaid"]
LedgerFormat = Literal["csv", "quickbooks", "xero", "beancount", "gnucash", "hledger"]
WRITABLE_LEDGER_FORMATS: tuple[LedgerFormat, ...] = ("beancount", "hledger", "gnucash", "xero")
"""The books `writeback = true` may name: the sinks of `recon.writeback.service.SINKS`."""


class _KeyValueError(ValueError):
    """A validator's complaint about one key, `key` relative to the model that raised it (so it gets its line)."""

    def __init__(self, key: KeyPath, message: str) -> None:
        super().__init__(message)
        self.key = key


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class StoreSettings(_Settings):
    path: Path = Field(Path("recon.duckdb"), strict=False)


class OutputSettings(_Settings):
    dir: Path = Field(Path("out"), strict=False)


class BookBalance(_Settings):
    """The GL balance of the bank account at the end of `date`, as the books state it.

    Ledger entries after that date come from the ledger files; the reconciliation
    statement adds them to this balance to get the balance per books.
    """

    date: dt.date
    amount: str = Field(description='decimal text, e.g. "48210.37" (quoted: TOML floats are not exact)')

    @field_validator("amount", mode="before")
    @classmethod
    def _exact_text(cls, value: object) -> object:
        if isinstance(value, float | int) and not isinstance(value, bool):
            raise ValueError(f'write the amount as a quoted decimal, e.g. "{value}": TOML numbers are not exact')
        return value


class AccountSettings(_Settings):
    id: str = Field(min_length=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")
    ledger_account: str | None = None
    name: str | None = None
    book_balance: BookBalance | None = None
    xero_bank_account_id: str | None = Field(
        None, pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", description="the bank's Xero AccountID"
    )
    xero_bank_account_code: str | None = Field(None, min_length=1, max_length=10, description="... or its Code")

    @model_validator(mode="after")
    def _book_balance_is_money(self) -> AccountSettings:
        if self.book_balance is not None:
            try:
                parse_amount(self.book_balance.amount, self.currency)
            except AmountError as exc:
                raise _KeyValueError(("book_balance", "amount"), str(exc)) from None
        return self

    @property
    def book_balance_minor(self) -> int | None:
        return None if self.book_balance is None else parse_amount(self.book_balance.amount, self.currency)


class BankSource(_Settings):
    account: str
    format: BankFormat | None = None
    paths: list[str] = Field(default_factory=list)
    profile: str | None = None
    file_account: str | None = Field(
        None,
        description="the account number as the file writes it (IBAN, ACCTID, BAI2 account): which account "
        "to take from files that hold several",
    )
    # Plaid: secrets are named by environment variable, never written here.
    access_token_env: str | None = None
    plaid_account_id: str | None = None
    environment: Literal["sandbox", "production"] | None = None
    host: str | None = None

    @property
    def plaid_host(self) -> str:
        return self.host.rstrip("/") if self.host else PLAID_HOSTS[self.environment or "production"]

    @model_validator(mode="after")
    def _profile_only_for_csv(self) -> BankSource:
        if self.profile and self.format not in (None, "csv"):
            raise _KeyValueError(("profile",), f"profile is for CSV sources; this source's format is '{self.format}'")
        return self

    @model_validator(mode="after")
    def _paths_or_feed(self) -> BankSource:
        if self.format == "plaid":
            if not self.access_token_env:
                raise _KeyValueError(
                    ("access_token_env",), "a plaid source needs access_token_env (the variable holding the token)"
                )
        elif not self.paths:
            raise _KeyValueError(("paths",), "a file source needs paths (a list of files or glob patterns)")
        return self


class LedgerSource(_Settings):
    account: str
    format: LedgerFormat = "csv"
    paths: list[str] = Field(min_length=1)
    writeback: bool = False

    @model_validator(mode="after")
    def _writable_format(self) -> LedgerSource:
        if self.writeback and self.format not in WRITABLE_LEDGER_FORMATS:
            raise _KeyValueError(
                ("writeback",),
                f"a {self.format} export cannot be written back; write-back works with these books: "
                f"{', '.join(WRITABLE_LEDGER_FORMATS)} (or leave writeback out)",
            )
        return self


class MatchingSettings(_Settings):
    auto_threshold: float = Field(0.90, ge=0, le=1)
    suggest_threshold: float = Field(0.60, ge=0, le=1)
    bank_days_after_books: int = Field(7, ge=0, le=120, description="the bank may post this many days late")
    bank_days_before_books: int = Field(3, ge=0, le=120, description="... or this many days early")
    ambiguity_margin: float = Field(
        0.05, ge=0, le=1, description="auto only when the runner-up scores at least this much lower"
    )
    reference_window_days: int = Field(
        90,
        ge=0,
        le=400,
        description="rows sharing a reference (invoice, check number, end-to-end id) may be this many days apart "
        "either way: checks clear weeks after they are written",
    )
    amount_tolerance_minor: int = Field(
        500, ge=0, description="amounts may differ by this much (minor units) for a suggestion (fees, FX)"
    )
    amount_tolerance_percent: float = Field(
        3.0, ge=0, le=50, description="... or by this percentage of the ledger amount, whichever is larger"
    )
    tolerance_min_description: float = Field(
        0.80,
        ge=0,
        le=1,
        description="a pair whose amounts differ needs this description similarity, or a shared reference",
    )
    max_rows_per_reference: int = Field(
        20, ge=1, description="a reference token on more rows than this (per account and side) is not a key"
    )
    group_max_size: int = Field(
        4, ge=1, le=8, description="1:N and N:1: at most this many rows summed to one row (1 turns them off)"
    )
    group_max_candidates: int = Field(
        40, ge=2, le=80, description="1:N and N:1: rows tried per target, the nearest in date first"
    )

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> MatchingSettings:
        if self.suggest_threshold > self.auto_threshold:
            raise _KeyValueError(("suggest_threshold",), "suggest_threshold must not be above auto_threshold")
        return self


class RulesSettings(_Settings):
    paths: list[str] = Field(default_factory=list)


class NotifySettings(_Settings):
    """Who hears about a run that failed or left too much open.

    The webhook gets the run summary as JSON in a POST; the command gets it on stdin.
    A webhook URL often carries a token: name the environment variable that holds it.
    """

    webhook_url_env: str | None = None
    command: list[str] = Field(default_factory=list)
    on_failure: bool = True
    max_open_exceptions: int | None = Field(None, ge=0, description="notify when more exceptions than this stay open")
    timeout_seconds: float = Field(20, gt=0, le=300)
    retries: int = Field(3, ge=0, le=10)
    backoff_seconds: float = Field(2.0, ge=0, le=60, description="first wait between attempts; doubles each time")


_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_URL = r"^https?://[^\s/]+(/\S*)?$"


class XeroSettings(_Settings):
    """Write-back to Xero's Accounting API (a ledger with format = "xero" and writeback = true).

    The credentials come from the environment, never from this file: an OAuth2 access token in the
    variable `token_env`, or else a Custom Connection's client id and secret in `client_id_env` and
    `client_secret_env`, with which recon fetches its tokens from `token_url`.
    `account_codes` maps recon's categories (rule output) to Xero account codes.
    """

    tenant_id: str = Field(min_length=1, description="the organisation's xero-tenant-id")
    base_url: str = Field("https://api.xero.com/api.xro/2.0", pattern=_URL)
    token_env: str = Field("XERO_ACCESS_TOKEN", pattern=_ENV_NAME, description="holds an access token")
    client_id_env: str = Field("XERO_CLIENT_ID", pattern=_ENV_NAME, description="... or a client id")
    client_secret_env: str = Field("XERO_CLIENT_SECRET", pattern=_ENV_NAME, description="... and its secret")
    token_url: str = Field("https://identity.xero.com/connect/token", pattern=_URL)
    account_codes: dict[str, str] = Field(default_factory=dict)
    default_account_code: str | None = Field(None, description="for categories account_codes does not name")
    default_contact: str | None = Field(None, description="the Contact when the bank row names no payee")
    max_attempts: int = Field(5, ge=1, le=10, description="per request: 429, 5xx and timeouts are retried")
    first_delay_seconds: float = Field(1.0, ge=0, le=60, description="first wait between attempts; doubles each time")
    max_delay_seconds: float = Field(60.0, ge=0, le=3600, description="a longer Retry-After gives up for this run")
    timeout_seconds: float = Field(30.0, gt=0, le=300)

    @field_validator("base_url", "token_url")
    @classmethod
    def _https_unless_local(cls, url: str) -> str:
        if url.startswith("http://") and urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("must be https:// (credentials go with every request)")
        return url.rstrip("/")


def _plaid_account_clash(plaid_id: str | None, taken: list[str | None]) -> str | None:
    """Why a source for `plaid_id` (None: every account) overlaps the Item's earlier sources, if it does."""
    if None in taken:
        return "an earlier source without plaid_account_id takes all its accounts"
    if taken and plaid_id is None:
        return "earlier sources take some of its accounts, and this one without plaid_account_id all"
    if plaid_id in taken:
        return f"an earlier source takes its account '{plaid_id}'"
    return None


class Config(_Settings):
    store: StoreSettings = StoreSettings()
    output: OutputSettings = OutputSettings()
    accounts: list[AccountSettings] = Field(min_length=1)
    sources: list[BankSource] = Field(default_factory=list)
    ledgers: list[LedgerSource] = Field(default_factory=list)
    matching: MatchingSettings = MatchingSettings()
    rules: RulesSettings = RulesSettings()
    notify: NotifySettings = NotifySettings()
    xero: XeroSettings | None = None
    base_dir: Path = Field(Path("."), exclude=True)
    config_file: Path | None = Field(None, exclude=True)  # the file it was read from, for messages

    @field_validator("accounts")
    @classmethod
    def _unique_ids(cls, accounts: list[AccountSettings]) -> list[AccountSettings]:
        seen: set[str] = set()
        for i, account in enumerate(accounts):
            if account.id in seen:
                raise _KeyValueError((i, "id"), f"account id '{account.id}' is defined twice")
            seen.add(account.id)
        return accounts

    @model_validator(mode="after")
    def _accounts_exist(self) -> Config:
        known = {a.id for a in self.accounts}
        for section in ("sources", "ledgers"):
            for i, item in enumerate(getattr(self, section)):
                if item.account not in known:
                    raise _KeyValueError(
                        (section, i, "account"),
                        f"unknown account '{item.account}' (defined: {', '.join(sorted(known))})",
                    )
        return self

    @model_validator(mode="after")
    def _plaid_items_agree(self) -> Config:
        """Plaid sources sharing an access token are one Item: one host, and each of its accounts taken once."""
        items: dict[str, tuple[str, list[str | None]]] = {}  # token variable -> host, plaid_account_ids (None: all)
        for i, source in enumerate(self.sources):
            if source.format != "plaid" or not source.access_token_env:
                continue
            key = source.access_token_env
            host, taken = items.setdefault(key, (source.plaid_host, []))
            if source.plaid_host != host:
                raise _KeyValueError(
                    ("sources", i, "host" if source.host else "environment"),
                    f"Item {key} is synced from {host} by an earlier source, not {source.plaid_host}",
                )
            clash = _plaid_account_clash(source.plaid_account_id, taken)
            if clash:
                raise _KeyValueError(
                    ("sources", i, "plaid_account_id"),
                    f"Item {key}: {clash}; name a different plaid_account_id on each source of the same Item",
                )
            taken.append(source.plaid_account_id)
        return self

    @model_validator(mode="after")
    def _xero_writeback_settings(self) -> Config:
        for i, source in enumerate(self.ledgers):
            if source.format != "xero" or not source.writeback:
                continue
            if self.xero is None:
                raise _KeyValueError(
                    ("ledgers", i, "writeback"), "write-back to Xero needs a [xero] section (tenant_id, token_env)"
                )
            account = self.account(source.account)
            if not (account.xero_bank_account_id or account.xero_bank_account_code):
                raise _KeyValueError(
                    ("accounts", self.accounts.index(account), "xero_bank_account_id"),
                    f"account '{account.id}' needs xero_bank_account_id (or xero_bank_account_code) "
                    f"to write back to Xero (ledgers[{i}])",
                )
        return self

    def account(self, account_id: str) -> AccountSettings:
        return next(a for a in self.accounts if a.id == account_id)

    def resolve(self, path: Path | str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def store_path(self) -> Path:
        return self.resolve(self.store.path)

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.output.dir)

    def expand(self, patterns: list[str]) -> tuple[list[Path], list[str]]:
        """Files named by `patterns` (globs allowed), sorted; and the patterns that matched nothing."""
        files: list[Path] = []
        unmatched: list[str] = []
        for pattern in patterns:
            full = str(self.resolve(pattern))
            hits = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
            if not hits:
                unmatched.append(pattern)
            files.extend(h for h in hits if h not in files)
        return files, unmatched


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _got(value: object) -> str:
    """A wrongly typed value as TOML calls it, for "expected X, got Y"."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    kinds = ((str, "the string"), (int, "the integer"), (float, "the float"), (dt.date, "the date"))
    for kind, name in kinds:
        if isinstance(value, kind):
            return f'{name} "{value}"' if kind is str else f"{name} {value}"
    return "an array" if isinstance(value, list) else "a table" if isinstance(value, dict) else type(value).__name__


def _message(err: ErrorDetails) -> tuple[KeyPath, str]:
    """Where a pydantic error points and what it says, in the words of the config file."""
    loc = tuple(err["loc"])
    problem = err.get("ctx", {}).get("error")
    if isinstance(problem, _KeyValueError):
        return loc + problem.key, str(problem)
    if err["type"] == "extra_forbidden":
        return loc, "unknown key"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"].endswith("_type") or err["type"] in ("int_from_float", "literal_error"):
        message += f", got {_got(err['input'])}"
    return loc, message


def load_config(path: Path | str) -> Config:
    """Read and validate the config file; raise ConfigError naming the file and every bad key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        lines = key_lines(text)
    except ValueError:  # the scanner missed a corner of valid TOML: errors still name the key, without a line
        lines = {}
    for internal in ("base_dir", "config_file"):
        if internal in data:
            raise ConfigError(f"{_where(path, lines.get((internal,)))}: key '{internal}': unknown key")
    data["base_dir"] = path.resolve().parent
    data["config_file"] = path
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc, message = _message(err)
            line = line_of(lines, loc)
            where = _where(path, line)
            problems.append((line or 0, f"{where}: key '{_dotted(loc)}': {message}" if loc else f"{where}: {message}"))
        raise ConfigError("\n".join(problem for _, problem in sorted(problems, key=lambda p: p[0]))) from None


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)
