"""Decoding bank text files: UTF-8 bytes for Polars (CSV), and files whose encoding nobody states (MT940, BAI2).

`utf8_bytes` gives Polars the bytes of a file whose encoding the profile states:
UTF-8 is validated without a copy (ASCII, the usual case, in one fast scan), others
are decoded and re-encoded.

For MT940 and BAI2, whose encoding nobody states:

The order is fixed and documented so that the same bytes always give the same text:

1. UTF-8 (a leading BOM is dropped). Text that is valid UTF-8 is almost never
   anything else, so it is taken as soon as it decodes.
2. Otherwise each 8-bit candidate that decodes without error is scored, and the best
   wins; ties go to the earlier candidate in `LEGACY_ENCODINGS`:
   cp1252 (Western Europe, a superset of Latin-1's printable part), cp852 (DOS
   Central European, which Hungarian and Polish bank software still writes), and
   latin-1 last, which decodes any byte.

The score counts non-ASCII characters that are letters next to an ASCII letter (they
sit inside words, as accented letters do) and subtracts every other non-ASCII
character (box drawing, C1 controls, stray symbols). Raiffeisen Hungary's CP852
statement scores high only as cp852 ('átutalás'), while a Latin-1 German file keeps
scoring best as cp1252 ('Müller', 'Straße').
"""

from __future__ import annotations

import codecs

__all__ = [
    "LEGACY_ENCODINGS",
    "ascii_reads_as_utf8",
    "decode_bank_text",
    "has_utf16_bom",
    "is_unicode",
    "is_utf8",
    "utf8_bytes",
]

LEGACY_ENCODINGS = ("cp1252", "cp852", "latin-1")

# 8-bit encodings whose bytes below 0x80 are ASCII: a pure-ASCII file in one of them is UTF-8 as it is
_ASCII_SUPERSETS = frozenset(
    codecs.lookup(e).name
    for e in ("latin-1", "cp1252", "cp852", "iso8859-2", "iso8859-15", "cp1250", "cp850", "cp437", "mac-roman")
)


def decode_bank_text(data: bytes) -> tuple[str, str]:
    """The text of `data` and the name of the encoding it was read with."""
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best: tuple[int, str, str] | None = None
    for encoding in LEGACY_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text)
        if best is None or score > best[0]:
            best = (score, text, encoding)
    assert best is not None  # latin-1 decodes every byte string
    return best[1], best[2]


def _plausibility(text: str) -> int:
    score = 0
    for i, char in enumerate(text):
        if char.isascii():
            continue
        before = text[i - 1] if i > 0 else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        inside_word = (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha())
        score += 1 if char.isalpha() and inside_word else -1
    return score


_BOM = b"\xef\xbb\xbf"


def is_utf8(encoding: str) -> bool:
    """Whether `encoding` is UTF-8 under any of its names (utf8, UTF-8, utf-8-sig...)."""
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def is_unicode(encoding: str) -> bool:
    """Whether `encoding` is UTF-8 or UTF-16: a file with a UTF-16 byte order mark is then read as UTF-16."""
    return is_utf8(encoding) or codecs.lookup(encoding).name.startswith("utf-16")


def has_utf16_bom(data: bytes) -> bool:
    """Whether `data` starts with a UTF-16 byte order mark (Excel's "Unicode text" exports do)."""
    return data[:2] in (b"\xff\xfe", b"\xfe\xff")


def ascii_reads_as_utf8(encoding: str) -> bool:
    """Whether ASCII bytes mean the same text in `encoding` as in UTF-8 (so an ASCII file needs no decoding)."""
    return is_utf8(encoding) or codecs.lookup(encoding).name in _ASCII_SUPERSETS


def utf8_bytes(data: bytes, encoding: str) -> bytes:
    """`data`, declared to be in `encoding`, as UTF-8 bytes (a UTF-8 BOM dropped), for Polars to read.

    UTF-8 input is only validated, not copied. A UTF-16 byte order mark says the file is UTF-16
    whatever encoding is declared: no text in a one-byte encoding starts with "ÿþ" or "þÿ", and a
    bank's export re-saved as "Unicode" keeps the profile it had. Raises UnicodeDecodeError, with
    offsets in `data`, when the bytes are not `encoding` text.
    """
    if has_utf16_bom(data):
        return data.decode("utf-16").encode("utf-8")
    if not is_utf8(encoding):
        return data.decode(encoding).encode("utf-8")
    text = data.removeprefix(_BOM)
    if not text.isascii():
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as exc:
            shift = len(data) - len(text)
            raise UnicodeDecodeError(exc.encoding, data, exc.start + shift, exc.end + shift, exc.reason) from None
    return text
