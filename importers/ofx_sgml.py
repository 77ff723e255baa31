"""Read the text of an OFX file (1.x SGML or 2.x XML) into a tree of elements with line numbers.

OFX 1.x is SGML: leaf elements are usually not closed (`<TRNAMT>-4.90` then the
next tag), and real files mix styles (closed leaves in 1.x headers, blank or
unclosed aggregates, CDATA in 2.x). This reader does not validate against the
spec; it builds the tree a reader of the file would see, tolerating those
variations, and keeps the 1-based line of every element so that problems can
point at it. It never raises for bad content: unreadable structure simply yields
fewer elements, and the statement layer reports what is missing.

Decoding: the header's CHARSET/ENCODING (or the XML declaration) is only a hint,
because banks often declare one and send another. Pure ASCII is ASCII; bytes that
are valid UTF-8 are UTF-8 (Latin-1 text is practically never valid UTF-8); else
the declared 8-bit charset, else Windows-1252, else Latin-1 (which never fails).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

__all__ = ["Element", "OfxTree", "decode_ofx", "parse_ofx"]

_TOKEN = re.compile(r"<!\[CDATA\[(.*?)\]\]>|<(/?)([A-Za-z0-9_.]+)[^>]*>|<[?!][^>]*>|([^<]+)", re.DOTALL)
_CHARSET = re.compile(rb"CHARSET:\s*(\S+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9_.-]+)", re.IGNORECASE)
# Aggregates some banks forget to close, and the tags that show they have ended.
_ENDED_BY = {"BANKTRANLIST": {"LEDGERBAL", "AVAILBAL", "BALLIST", "MKTGINFO"}, "STMTTRN": {"LEDGERBAL", "AVAILBAL"}}
_CHARSET_CODECS = {"1252": "cp1252", "ISO-8859-1": "latin-1", "8859-1": "latin-1", "1250": "cp1250"}


@dataclass(slots=True)
class Element:
    """One OFX element: a leaf with a `value`, or an aggregate with `children`.

    Attributes:
      tag: upper-case tag name.
      line: 1-based line of the opening tag.
      value: the text of a leaf (stripped; "" for an empty leaf), None for an aggregate.
      children: the elements inside an aggregate, in file order.
    """

    tag: str
    line: int
    value: str | None = None
    children: list[Element] = field(default_factory=list)

    def find(self, tag: str) -> Element | None:
        """The first direct child with this tag."""
        return next((c for c in self.children if c.tag == tag), None)

    def find_all(self, tag: str) -> list[Element]:
        """All direct children with this tag."""
        return [c for c in self.children if c.tag == tag]

    def text(self, tag: str) -> str | None:
        """The value of the first direct child leaf with this tag, or None when absent."""
        child = self.find(tag)
        return None if child is None else (child.value or "")

    def iter(self, tag: str) -> list[Element]:
        """All elements with this tag anywhere below (not inside each other's matches), in file order."""
        found: list[Element] = []
        for child in self.children:
            if child.tag == tag:
                found.append(child)
            else:
                found.extend(child.iter(tag))
        return found


@dataclass(slots=True)
class OfxTree:
    """What `parse_ofx` read.

    Attributes:
      root: a synthetic element (tag "#root") holding the file's elements.
      open_at_end: the aggregates still open when the text ended, outermost first: empty for a whole file,
        which closes its <OFX>.
      last_line: 1-based line of the last text of the file.
    """

    root: Element
    open_at_end: list[Element]
    last_line: int


def decode_ofx(data: bytes) -> str:
    """The file's text, decoded as described in the module docstring."""
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _XML_ENCODING.search(data[:1024]) or _CHARSET.search(data[:1024])
    codec = _CHARSET_CODECS.get(declared.group(1).decode("ascii", "replace").upper()) if declared else None
    for candidate in (codec, "cp1252"):
        if candidate:
            try:
                return data.decode(candidate)
            except UnicodeDecodeError:
                continue
    return data.decode("latin-1")


def parse_ofx(text: str) -> OfxTree:
    """The tree under a synthetic root element, whatever the file holds, and what was left open at its end."""
    root = Element("#root", 1)
    stack: list[Element] = [root]
    pending: Element | None = None  # an opened tag whose kind (leaf or aggregate) is not known yet
    line = 1
    for match in _TOKEN.finditer(text):
        token_line = line
        line += match.group(0).count("\n")
        cdata, slash, name, body = match.group(1), match.group(2), match.group(3), match.group(4)
        if cdata is not None or (body is not None and body.strip()):
            value = cdata if cdata is not None else html.unescape(body)
            if pending is not None:
                # text right after a tag: the tag was a leaf
                pending.value = (pending.value or "") + value
                pending.value = pending.value.strip()
            continue
        if name is None:
            continue  # whitespace, processing instruction or comment
        tag = name.upper()
        if slash:
            if pending is not None and pending.tag == tag:
                pending.value = pending.value or ""
                pending = None
                continue
            pending = None
            # close the nearest open aggregate of that name; a stray close tag is ignored
            for depth in range(len(stack) - 1, 0, -1):
                if stack[depth].tag == tag:
                    del stack[depth:]
                    break
            continue
        if pending is not None and pending.value is None:
            # a tag directly after a tag: the earlier one opened an aggregate
            stack.append(pending)
        _close_unclosed(stack, tag)
        pending = Element(tag, token_line)
        stack[-1].children.append(pending)
    return OfxTree(root, stack[1:], text.rstrip().count("\n") + 1)


def _close_unclosed(stack: list[Element], opening: str) -> None:
    """Pop aggregates that cannot hold the tag being opened (OFX never nests a tag in itself)."""
    for depth in range(len(stack) - 1, 0, -1):
        tag = stack[depth].tag
        if tag == opening or opening in _ENDED_BY.get(tag, ()):
            del stack[depth:]
            return
