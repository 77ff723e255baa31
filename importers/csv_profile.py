"""Bank CSV profiles: how one bank writes its CSV export, declared in a small TOML file.

A new bank is a profile, not code. A profile says how to read the text (encoding,
delimiter, quote, decimal mark, thousands separator, where the header is, which
lines are junk), which columns hold what, and how amounts are signed::

    title = "Knab (NL) transactieoverzicht"
    delimiter = ";"
    skip_lines = 1                      # 'KNAB EXPORT;;;' before the header
    decimal_mark = ","
    date_formats = ["%d-%m-%Y"]

    [columns]
    date = "Transactiedatum"            # a header name, or a 1-based position (files without header)
    amount = "Bedrag"
    indicator = "CreditDebet"           # the column that says which way the money went
    description = ["Tegenrekeninghouder", "Omschrijving"]   # several columns joined

    [sign]
    credit_values = ["C"]
    debit_values = ["D"]

Amounts come from `amount` (signed, or unsigned with `indicator`), or from a pair
of `debit` / `credit` columns whose magnitudes are used whatever sign the bank
wrote (amount = |credit| - |debit|; a row with a non-zero amount in both is a Problem).
`sign.amount_positive = "money_out"` flips
exports where a charge is positive (American Express, many card exports).

Built-in profiles live in `importers/profiles/*.toml`; `load_profile` reads one of
those by name or any file by path. Every mistake is reported as a `ConfigError`
naming the file and the dotted key.
"""

from __future__ import annotations

import codecs
import functools
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from recon.errors import ConfigError

__all__ = [
    "ColumnRef",
    "CsvProfile",
    "ProfileColumns",
    "ProfileSign",
    "builtin_profile_names",
    "builtin_profiles",
    "load_profile",
    "parse_profile",
]

ColumnRef = str | int
"""A column: its header name (whitespace around names is ignored), or its 1-based position."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileColumns(_Strict):
    """Which column holds what. `date` and `description` are required, and one amount layout."""

    date: ColumnRef
    description: ColumnRef | list[ColumnRef]
    amount: ColumnRef | None = None
    debit: ColumnRef | None = None
    credit: ColumnRef | None = None
    indicator: ColumnRef | None = None
    value_date: ColumnRef | None = None
    payee: ColumnRef | None = None
    reference: ColumnRef | None = None
    external_id: ColumnRef | None = None
    check_number: ColumnRef | None = None
    type: ColumnRef | None = None
    balance: ColumnRef | None = None
    currency: ColumnRef | None = None
    status: ColumnRef | None = None
    account: ColumnRef | None = None  # the bank's account number: a file naming two is refused

    @field_validator("description")
    @classmethod
    def _some_description(cls, value: ColumnRef | list[ColumnRef]) -> ColumnRef | list[ColumnRef]:
        if isinstance(value, list) and not value:
            raise ValueError("name at least one column")
        return value

    @model_validator(mode="after")
    def _one_amount_layout(self) -> ProfileColumns:
        pair = (self.debit is not None, self.credit is not None)
        if self.amount is not None and any(pair):
            raise ValueError("give either amount or debit + credit, not both")
        if self.amount is None and pair != (True, True):
            raise ValueError("give amount, or both debit and credit")
        if self.indicator is not None and self.amount is None:
            raise ValueError("indicator needs an amount column (it signs the amount)")
        return self

    def refs(self) -> dict[str, ColumnRef]:
        """Every column the profile uses, by role (description parts as description, description_2...)."""
        out: dict[str, ColumnRef] = {}
        for role, value in self:
            if value is None:
                continue
            if isinstance(value, list):
                for i, part in enumerate(value):
                    out[role if i == 0 else f"{role}_{i + 1}"] = part
            else:
                out[role] = value
        return out


class ProfileSign(_Strict):
    """How the amount is signed."""

    amount_positive: Literal["money_in", "money_out"] = "money_in"
    credit_values: list[str] = Field(default_factory=list, description="indicator values for money in")
    debit_values: list[str] = Field(default_factory=list, description="indicator values for money out")
    pending_values: list[str] = Field(default_factory=list, description="status values of not yet booked rows")


class CsvProfile(_Strict):
    """One bank's CSV export format (see the module docstring)."""

    name: str = ""
    title: str = ""
    encoding: str = "utf-8"
    delimiter: str = ","
    quote: str = '"'
    decimal_mark: Literal[".", ","] = "."
    thousands_sep: str | None = None
    has_header: bool = True
    skip_lines: int = Field(0, ge=0, description="lines before the header (or before the data without header)")
    header_pattern: str | None = Field(None, description="regex: the first line matching it is the header")
    skip_footer: int = Field(0, ge=0, description="lines at the end to drop (after trailing blank lines)")
    drop_lines_matching: list[str] = Field(default_factory=list, description="regexes of junk lines to drop")
    date_formats: list[str] = Field(min_length=1)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    amount_strip: str = Field("", description="characters removed from amounts first, e.g. '$€ '")
    columns: ProfileColumns
    sign: ProfileSign = ProfileSign()

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding '{value}' (e.g. utf-8, latin-1, cp1252)") from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_char_delimiter(cls, value: str) -> str:
        value = "\t" if value.lower() in ("tab", "\\t") else value
        if len(value) != 1:
            raise ValueError("must be one character (or 'tab')")
        return value

    @field_validator("quote")
    @classmethod
    def _one_char_quote(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError("must be one character")
        return value

    @field_validator("header_pattern")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)
        return value

    @field_validator("drop_lines_matching")
    @classmethod
    def _valid_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            _compile(pattern)
        return value

    @field_validator("date_formats")
    @classmethod
    def _formats_have_directives(cls, value: list[str]) -> list[str]:
        for fmt in value:
            has_month = "%m" in fmt or "%b" in fmt or "%B" in fmt
            if "%d" not in fmt or not has_month or not ("%Y" in fmt or "%y" in fmt):
                raise ValueError(f"'{fmt}' needs day, month and year (%d, %m or %b, %Y or %y)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CsvProfile:
        if self.thousands_sep is not None and self.thousands_sep == self.decimal_mark:
            raise ValueError("thousands_sep and decimal_mark must differ")
        if self.columns.indicator is not None and not (self.sign.credit_values and self.sign.debit_values):
            raise ValueError("columns.indicator needs sign.credit_values and sign.debit_values")
        if self.columns.status is None and self.sign.pending_values:
            raise ValueError("sign.pending_values needs columns.status")
        if not self.has_header and self.header_pattern:
            raise ValueError("header_pattern makes no sense with has_header = false")
        if not self.has_header:
            named = [role for role, ref in self.columns.refs().items() if isinstance(ref, str)]
            if named:
                raise ValueError(f"without a header, columns are positions (1, 2, ...): {', '.join(named)}")
        return self


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"'{pattern}' is not a valid regular expression: {exc}") from None


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


def parse_profile(text: str, *, source: str, name: str = "") -> CsvProfile:
    """Validate TOML text as a profile; `source` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    data.setdefault("name", name)
    try:
        return CsvProfile.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = _dotted(tuple(err["loc"])) or "(profile)"
            message = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{source}: key '{key}': {message}")
        raise ConfigError("\n".join(lines)) from None


def _builtin_dir() -> Path:
    return Path(str(resources.files("importers") / "profiles"))


def builtin_profile_names() -> list[str]:
    """The names of the profiles shipped with recon, sorted."""
    return sorted(p.stem for p in _builtin_dir().glob("*.toml"))


@functools.cache
def _builtin_profiles() -> tuple[CsvProfile, ...]:
    return tuple(load_profile(name) for name in builtin_profile_names())


def builtin_profiles() -> list[CsvProfile]:
    """Every shipped profile, loaded (once per process: they are frozen)."""
    return list(_builtin_profiles())


def load_profile(ref: str, *, base_dir: Path | None = None) -> CsvProfile:
    """A built-in profile by name ("chase-checking"), or a profile file (relative to `base_dir`)."""
    builtin = _builtin_dir() / f"{ref}.toml"
    if "/" not in ref and "\\" not in ref and not ref.endswith(".toml") and builtin.is_file():
        path = builtin
    else:
        path = Path(ref).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
    if not path.is_file():
        raise ConfigError(
            f"profile '{ref}': neither a built-in profile ({', '.join(builtin_profile_names())}) nor a file"
            + (f" ({path} not found)" if path != builtin else "")
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the profile: {exc}") from None
    return parse_profile(text, source=str(path), name=path.stem)
