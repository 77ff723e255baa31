"""Reading the `:86:` information field of MT940 into description, payee and reference.

Banks fill `:86:` in three ways, all in the corpus:

- German DFÜ/ZKA sub-fields `166?00GUTSCHRIFT?20...?32NAME` (Triodos writes `>`
  instead of `?`): ?00 posting text, ?20-?29 and ?60-?63 purpose (with SEPA keys
  `EREF+`, `SVWZ+`...), ?32/?33 counterparty name;
- Dutch SEPA keys `/EREF/.../CNTP/IBAN/BIC/NAME/CITY//REMI/USTD//text/` (ING,
  Rabobank: `/ORDP//NAME/...`);
- free text.

Structured text is cut into lines at fixed width, even in the middle of a word or a
key, so its lines are joined without a separator. Free text is joined with a space,
except after a line of the full 65 characters, which the bank broke mid-word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Information", "read_information"]

_SWIFT_LINE_WIDTH = 65
_SUBFIELDS = re.compile(r"^\s*(\d{3})?\s*([?>])\d\d")
_SEPA_KEYS = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC)\+")
_DUTCH_KEYS = (
    "EREF|CNTP|REMI|PREF|RTRN|MARF|CSID|ORDP|BENM|NAME|ADDR|ISDT|IREF|TRCD|BUSP|PURP|ULTC|ULTD|ULTB|EXCH|CHGS|SUM"
)
_DUTCH = re.compile(rf"/({_DUTCH_KEYS})/")
_NO_REFERENCE = {"", "NOTPROVIDED", "NONREF", "NONE"}


@dataclass(frozen=True, slots=True)
class Information:
    """What `:86:` says about one transaction.

    Attributes:
      description: the purpose / remittance text, whitespace collapsed.
      payee: the counterparty's name, where the bank gives it apart.
      reference: the end-to-end (or payment batch) reference.
      parts: every sub-field or key found, for the raw record.
    """

    description: str
    payee: str | None = None
    reference: str | None = None
    parts: dict[str, str] = field(default_factory=dict)


def read_information(lines: list[str]) -> Information:
    """Interpret the lines of one `:86:` field (several `:86:` fields already concatenated)."""
    structured = "".join(lines)
    if _SUBFIELDS.match(structured):
        return _read_subfields(structured)
    if _DUTCH.match(structured.lstrip()):
        return _read_dutch(structured.strip())
    return Information(_collapse(_join_free_text(lines)))


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _join_free_text(lines: list[str]) -> str:
    out = ""
    for i, line in enumerate(lines):
        if i and len(lines[i - 1]) < _SWIFT_LINE_WIDTH:
            out += " "
        out += line
    return out


def _read_subfields(text: str) -> Information:
    head = _SUBFIELDS.match(text)
    assert head is not None
    separator = head.group(2)
    code = head.group(1) or ""
    pieces = re.split(re.escape(separator) + r"(\d\d)", text)
    parts: dict[str, str] = {"code": code.strip()} if code else {}
    for key, value in zip(pieces[1::2], pieces[2::2], strict=False):
        parts[key] = parts.get(key, "") + value
    purpose = "".join(parts.get(k, "") for k in [*map(str, range(20, 30)), "60", "61", "62", "63"])
    sepa = _sepa_keys(purpose)
    description = sepa.get("SVWZ") or (_SEPA_KEYS.sub(" ", purpose) if sepa else purpose)
    posting_text = parts.get("00", "")
    if not description.strip():
        description = posting_text
    payee = _collapse(parts.get("32", "") + parts.get("33", "")) or None
    reference = next((sepa[k].strip() for k in ("EREF", "KREF") if sepa.get(k, "").strip() not in _NO_REFERENCE), None)
    parts.update({f"sepa_{k}": v for k, v in sepa.items()})
    return Information(_collapse(description), payee, reference, parts)


def _sepa_keys(purpose: str) -> dict[str, str]:
    pieces = _SEPA_KEYS.split(purpose)
    return {key: value.strip() for key, value in zip(pieces[1::2], pieces[2::2], strict=False)}


def _read_dutch(text: str) -> Information:
    pieces = _DUTCH.split(text)
    parts: dict[str, str] = {}
    for key, value in zip(pieces[1::2], pieces[2::2], strict=False):
        parts[key] = value.strip("/").strip()
    remittance = parts.get("REMI", "")
    remittance = re.sub(r"^(USTD//|STRD/CUR/|STRD//)", "", remittance).strip("/")
    counterparty = parts.get("CNTP", "").split("/")
    payee = parts.get("NAME") or (counterparty[2] if len(counterparty) > 2 else "")
    reference = next((parts[k] for k in ("EREF", "PREF") if parts.get(k, "") not in _NO_REFERENCE), None)
    description = remittance or _collapse(text)
    return Information(_collapse(description), _collapse(payee) or None, reference, parts)
