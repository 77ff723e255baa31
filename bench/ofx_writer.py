"""Writes OFX 1.02 (SGML) bank statements, for generated demo and test data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class OfxTxn:
    fitid: str
    posted: date
    amount: Decimal
    name: str
    memo: str = ""
    trntype: str = ""
    checknum: str = ""


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ofx_statement(
    txns: list[OfxTxn], *, account_id: str, currency: str, start: date, end: date, balance: Decimal | None,
    bank_id: str = "121000248",
) -> str:  # fmt: skip
    """An OFX 1.x bank statement of `txns`; `balance` None writes no LEDGERBAL (a statement without one)."""
    lines = [
        "OFXHEADER:100", "DATA:OFXSGML", "VERSION:102", "SECURITY:NONE", "ENCODING:USASCII",
        "CHARSET:1252", "COMPRESSION:NONE", "OLDFILEUID:NONE", "NEWFILEUID:NONE", "",
        "<OFX>", "<SIGNONMSGSRSV1><SONRS>", "<STATUS><CODE>0<SEVERITY>INFO</STATUS>",
        f"<DTSERVER>{end:%Y%m%d}120000", "<LANGUAGE>ENG", "</SONRS></SIGNONMSGSRSV1>",
        "<BANKMSGSRSV1><STMTTRNRS>", "<TRNUID>1", "<STATUS><CODE>0<SEVERITY>INFO</STATUS>",
        "<STMTRS>", f"<CURDEF>{currency}",
        f"<BANKACCTFROM><BANKID>{bank_id}<ACCTID>{account_id}<ACCTTYPE>CHECKING</BANKACCTFROM>",
        f"<BANKTRANLIST><DTSTART>{start:%Y%m%d}<DTEND>{end:%Y%m%d}",
    ]  # fmt: skip
    for t in txns:
        trntype = t.trntype or ("CREDIT" if t.amount > 0 else "DEBIT")
        lines += ["<STMTTRN>", f"<TRNTYPE>{trntype}", f"<DTPOSTED>{t.posted:%Y%m%d}120000",
                  f"<TRNAMT>{t.amount}", f"<FITID>{t.fitid}"]  # fmt: skip
        if t.checknum:
            lines.append(f"<CHECKNUM>{t.checknum}")
        lines.append(f"<NAME>{_esc(t.name[:32])}")
        if t.memo:
            lines.append(f"<MEMO>{_esc(t.memo)}")
        lines.append("</STMTTRN>")
    lines.append("</BANKTRANLIST>")
    if balance is not None:
        lines.append(f"<LEDGERBAL><BALAMT>{balance}<DTASOF>{end:%Y%m%d}120000</LEDGERBAL>")
    lines += ["</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>", ""]
    return "\r\n".join(lines)
