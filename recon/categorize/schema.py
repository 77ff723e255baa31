"""What a rule file may say, as pydantic models: validated once, then typed objects only.

A rule file is a mapping with one key, `rules`, holding a list of rules::

    rules:
      - name: Monthly service fee          # unique over all rule files
        when:                              # conditions: all must hold
          description: {starts_with: MONTHLY SERVICE FEE}
          amount: {sign: negative}
        then:                              # actions
          category: Expenses:Bank Fees
        examples:                          # checked by `recon rules test`
          - {description: MONTHLY SERVICE FEE, amount: "-15.00", expect: {category: Expenses:Bank Fees}}

The full reference, with the order, `stop` and split rounding rules, is in
`rules/README.md`; the models below enforce it. Every model refuses unknown keys,
so a misspelt condition or action is an error, never a rule that silently does less.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from recon.categorize.templates import Placeholder, parse_template
from recon.categorize.values import (
    Amount,
    CurrencyCode,
    DayOfMonth,
    OneOrMany,
    Percent,
    Regex,
    Weekday,
    regex_group_names,
)

__all__ = [
    "TEXT_FIELDS",
    "Actions",
    "AmountTest",
    "BookDifference",
    "Condition",
    "DateTest",
    "Example",
    "Expectation",
    "Rule",
    "RuleFileModel",
    "SplitPart",
    "TextTest",
    "capture_regexes",
]

TEXT_FIELDS = ("description", "payee", "memo", "reference")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TextTest(_Strict):
    """Tests on one text field; all given tests must hold. Case and runs of spaces are ignored."""

    contains: OneOrMany | None = None
    starts_with: OneOrMany | None = None
    ends_with: OneOrMany | None = None
    equals: OneOrMany | None = None
    regex: Regex | None = None
    similar_to: OneOrMany | None = None
    min_similarity: int | None = Field(None, ge=1, le=100)
    is_empty: bool | None = None

    @model_validator(mode="after")
    def _something_to_test(self) -> TextTest:
        if self.min_similarity is not None and self.similar_to is None:
            raise ValueError("min_similarity needs similar_to")
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("give a test: contains, starts_with, ends_with, equals, regex, similar_to or is_empty")
        return self


class AmountTest(_Strict):
    """Tests on the signed amount (money into the account is positive); all given tests must hold."""

    equals: list[Amount] | None = Field(None, min_length=1)
    between: list[Amount] | None = Field(None, min_length=2, max_length=2)
    at_least: Amount | None = None
    at_most: Amount | None = None
    sign: Literal["negative", "positive", "zero"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _single_equals(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("equals"), str):
            return {**data, "equals": [data["equals"]]}
        return data

    @model_validator(mode="after")
    def _something_to_test(self) -> AmountTest:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("give a test: equals, between, at_least, at_most or sign")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise ValueError("at_least is above at_most: no amount can match")
        return self


class DateTest(_Strict):
    """Tests on the posted date; all given tests must hold. `from` and `to` are inclusive."""

    day_of_month: DayOfMonth | None = None
    weekday: Weekday | None = None
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None

    @model_validator(mode="after")
    def _something_to_test(self) -> DateTest:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("give a test: day_of_month, weekday, from or to")
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError("'from' is after 'to': no date can match")
        return self


class Condition(_Strict):
    """Conditions on a bank row; all given ones must hold (`any` and `not` say otherwise)."""

    description: TextTest | None = None
    payee: TextTest | None = None
    memo: TextTest | None = None
    reference: TextTest | None = None
    amount: AmountTest | None = None
    account: OneOrMany | None = None
    currency: CurrencyCode | None = None
    date: DateTest | None = None
    source: OneOrMany | None = None
    all: list[Condition] | None = Field(None, min_length=1)
    any: list[Condition] | None = Field(None, min_length=1)
    not_: Condition | None = Field(None, alias="not")

    @model_validator(mode="after")
    def _something_to_test(self) -> Condition:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError(
                "give at least one condition: description, payee, memo, reference, amount, account, "
                "currency, date, source, all, any or not"
            )
        return self


class SplitPart(_Strict):
    """One part of a split: a fixed amount, a percent of the row, or the remainder."""

    category: str = Field(min_length=1)
    amount: Amount | None = Field(None, gt=0)
    percent: Percent | None = None
    remainder: bool = False

    @model_validator(mode="after")
    def _one_size(self) -> SplitPart:
        given = [self.amount is not None, self.percent is not None, self.remainder]
        if sum(given) != 1:
            raise ValueError("give exactly one of amount, percent or remainder: true")
        return self


class BookDifference(_Strict):
    """Where a match off by a small difference (a fee) books it, and how large it may be."""

    account: str = Field(min_length=1)
    max_amount: Amount | None = Field(None, gt=0)
    max_percent: Percent | None = None

    @model_validator(mode="after")
    def _a_limit(self) -> BookDifference:
        if self.max_amount is None and self.max_percent is None:
            raise ValueError("give max_amount, max_percent or both: an unlimited difference is never booked")
        if self.max_percent is not None and (self.max_percent * 100).denominator != 1:
            raise ValueError("max_percent may have at most 2 decimals")
        return self


class Actions(_Strict):
    """What a rule does to the rows it matches."""

    category: str | None = Field(None, min_length=1)
    payee: str | None = Field(None, min_length=1)
    memo: str | None = Field(None, min_length=1)
    tags: OneOrMany | None = None
    split: list[SplitPart] | None = Field(None, min_length=2)
    transfer_to: str | None = Field(None, min_length=1)
    ignore: bool | None = None
    book_difference: BookDifference | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Actions:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError(
                "give at least one action: category, payee, memo, tags, split, transfer_to, ignore or book_difference"
            )
        where = [name for name in ("category", "split", "transfer_to") if getattr(self, name) is not None]
        if self.ignore:
            where.append("ignore")
        if len(where) > 1:
            raise ValueError(f"{' and '.join(where)} say different things about where the row goes: keep one")
        if self.ignore is False:
            raise ValueError("ignore: false does nothing; remove it")
        if self.split:
            _check_split(self.split)
        for name in ("payee", "memo"):
            text = getattr(self, name)
            if text is not None:
                parse_template(text)
        return self


def _check_split(parts: list[SplitPart]) -> None:
    remainders = sum(part.remainder for part in parts)
    percent_total = sum((part.percent for part in parts if part.percent is not None), Fraction(0))
    has_fixed = any(part.amount is not None for part in parts)
    if remainders > 1:
        raise ValueError("only one part may be the remainder")
    if remainders == 0:
        if has_fixed:
            raise ValueError("a split with fixed amounts needs one part with remainder: true")
        if percent_total != 100:
            raise ValueError(f"the percents add up to {float(percent_total):g}, not 100; or mark a remainder part")
    elif percent_total > 100:
        raise ValueError(f"the percents add up to {float(percent_total):g}, more than 100")


class ExpectedSplit(_Strict):
    category: str
    amount: Amount


class Expectation(_Strict):
    """What an example row must come out as; only the keys given are compared."""

    rule: str | None = None
    category: str | None = None
    payee: str | None = None
    memo: str | None = None
    tags: OneOrMany | None = None
    transfer_to: str | None = None
    ignored: bool | None = None
    split: list[ExpectedSplit] | None = None
    uncategorized: bool | None = None


class Example(_Strict):
    """A made-up bank row and what the rules must make of it (`recon rules test`)."""

    description: str = ""
    amount: Amount
    payee: str | None = None
    memo: str | None = None
    reference: str | None = None
    account: str | None = None
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    date: dt.date | None = None
    source: str | None = None
    expect: Expectation


class Rule(_Strict):
    """One categorization rule."""

    name: str = Field(min_length=1)
    priority: int = 0
    when: Condition
    then: Actions
    stop: bool = True
    examples: list[Example] = Field(default_factory=list)

    @model_validator(mode="after")
    def _captures_exist(self) -> Rule:
        groups = [(field, pattern, regex_group_names(pattern)) for field, pattern in capture_regexes(self.when)]
        for name in ("payee", "memo"):
            text = getattr(self.then, name)
            if text is None:
                continue
            for part in parse_template(text):
                if isinstance(part, Placeholder):
                    _check_placeholder(part.group, name, groups)
        return self


def _check_placeholder(group: str, action: str, groups: list[tuple[str, str, list[str]]]) -> None:
    if not groups:
        raise ValueError(f"then.{action} uses {{{group}}} but the rule has no regex test in 'when' to capture it")
    if group.isdigit():
        if len(groups) > 1:
            raise ValueError(
                f"then.{action} uses {{{group}}} but the rule has several regex tests: name the group, "
                "(?P<name>...), and write {name}"
            )
        count = len(groups[0][2])
        if not 1 <= int(group) <= count:
            raise ValueError(f"then.{action} uses {{{group}}} but the regex has {count} group(s)")
        return
    owners = [field for field, _, names in groups if group in names]
    if len(owners) != 1:
        raise ValueError(
            f"then.{action} uses {{{group}}} but "
            + ("no regex has a group (?P<" + group + ">...)" if not owners else "several regexes name that group")
        )


def capture_regexes(condition: Condition) -> list[tuple[str, str]]:
    """(field, pattern) of the regex tests whose groups a template may use: those that must hold.

    A regex under `any` or `not` may not have matched, so its groups are not offered.
    """
    found = [
        (field, test.regex)
        for field in TEXT_FIELDS
        if (test := getattr(condition, field)) is not None and test.regex is not None
    ]
    for inner in condition.all or []:
        found.extend(capture_regexes(inner))
    return found


class RuleFileModel(_Strict):
    """The top of a rule file."""

    rules: list[Rule]
