"""The review page's actions: a JSON body in, one decision (one transaction) out.

Each action checks its payload, then calls `recon.review` or `recon.decisions`,
which record the decision in `review_decisions`. A payload a person could get
wrong raises `UserError` with a message for the page; nothing here touches HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recon import review
from recon.decisions import (
    dismiss_duplicates,
    find_decision,
    hand_match_difference,
    mark_to_book,
    undo_consequence,
    undo_decision,
)
from recon.errors import UserError
from recon.money import format_minor
from recon.person_categories import categorize_rows
from recon.store import Store

__all__ = ["ACTIONS", "perform"]

MAX_NOTE = 2000


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"'{key}' is missing")
    return value.strip()


def _ids(payload: dict[str, Any], key: str) -> list[str]:
    value = payload.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UserError(f"'{key}' must be a list of row ids")
    return [str(v) for v in value]


def _note(payload: dict[str, Any]) -> str | None:
    value = payload.get("note")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UserError("'note' must be text")
    if len(value) > MAX_NOTE:
        raise UserError(f"the note is longer than {MAX_NOTE} characters")
    return value.strip() or None


def _confirm(store: Store, payload: dict[str, Any], by: str) -> str:
    match_id = _text(payload, "match_id")
    decided = review.confirm(store, match_id, by=by, note=_note(payload))
    if decided.already:
        return f"match {match_id} was already confirmed; nothing changed"
    return f"match {match_id} confirmed{decided.replaced_text()}"


def _reject(store: Store, payload: dict[str, Any], by: str) -> str:
    match_id = _text(payload, "match_id")
    decided = review.reject(store, match_id, by=by, note=_note(payload))
    done = f"match {match_id} " + ("was already rejected; nothing changed" if decided.already else "rejected")
    return done + (f"; {decided.written_back}" if decided.written_back else "")


def _match(store: Store, payload: dict[str, Any], by: str) -> str:
    bank_ids, ledger_ids = _ids(payload, "bank_ids"), _ids(payload, "ledger_ids")
    if not bank_ids or not ledger_ids:
        raise UserError("select at least one bank row and one ledger row")
    difference, currency = hand_match_difference(store, bank_ids, ledger_ids)
    if difference:
        # the page saves only when the running total is zero; a script wanting a difference uses the CLI
        raise UserError(f"the rows do not add up: bank - ledger = {format_minor(difference, currency)} {currency}")
    decided = review.match_by_hand(store, bank_ids, ledger_ids, by=by, note=_note(payload))
    saved = f"match {decided.match_id} saved ({len(bank_ids)} bank, {len(ledger_ids)} ledger rows)"
    return saved + decided.replaced_text()


def _book(store: Store, payload: dict[str, Any], by: str) -> str:
    bank_ids = _ids(payload, "bank_ids")
    mark_to_book(store, bank_ids, by=by, note=_note(payload))
    return f"{len(bank_ids)} bank row(s) marked to be booked by a rule"


def _optional_text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise UserError(f"'{key}' must be text")
    return value or None


def _categorize(store: Store, payload: dict[str, Any], by: str) -> str:
    bank_ids = _ids(payload, "bank_ids")
    category = _optional_text(payload, "category") or ""
    done = categorize_rows(
        store, bank_ids, category=category, payee=_optional_text(payload, "payee"),
        memo=_optional_text(payload, "memo"), by=by, note=_note(payload),
    )  # fmt: skip
    return done.message(category.strip())


def _not_duplicate(store: Store, payload: dict[str, Any], by: str) -> str:
    row_ids = _ids(payload, "row_ids")
    decision_id = dismiss_duplicates(store, row_ids, by=by, note=_note(payload))
    return f"{len(row_ids)} duplicate flag(s) dismissed (decision {decision_id})"


def _undo(store: Store, payload: dict[str, Any], by: str) -> str:
    decision_id = _text(payload, "decision_id")
    undo_decision(store, decision_id, by=by, note=_note(payload))
    return f"decision {decision_id} undone{undo_consequence(find_decision(store, decision_id))}"


ACTIONS: dict[str, Callable[[Store, dict[str, Any], str], str]] = {
    "confirm": _confirm,
    "reject": _reject,
    "match": _match,
    "book": _book,
    "categorize": _categorize,
    "not_duplicate": _not_duplicate,
    "undo": _undo,
}


def perform(store: Store, action: str, payload: object, *, by: str) -> str:
    """Apply `action` with `payload` (the decoded JSON body); returns a message for the page."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise UserError(f"unknown action '{action}'")
    if not isinstance(payload, dict):
        raise UserError("the request body must be a JSON object")
    return handler(store, payload, by)
