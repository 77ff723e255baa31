"""Safe, namespace-agnostic reading of ISO 20022 XML (CAMT.052/053/054).

Parsing is done with lxml with entity resolution, DTD loading and network access off,
and any document that carries a DOCTYPE is refused before parsing: bank statements
never declare entities, so an XML bomb ("billion laughs", external entities) is
turned into a Problem instead of expanding or being fetched. lxml is used (not
ElementTree) for `sourceline`, which every row and Problem reports.

Elements are looked up by local name only, so camt.053.001.02, .04 and .08 (and any
later version) read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

__all__ = ["XmlRefusedError", "children", "descendants", "find", "local_name", "parse_document", "text"]

_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_MAX_BYTES = 200 * 1024 * 1024  # a day's statement of a large company is well below this


class XmlRefusedError(ValueError):
    """The bytes are not a well-formed, safe XML document; carries the line where known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def parse_document(data: bytes) -> etree._Element:
    """The root element of `data`, or `XmlRefusedError` for unsafe or malformed XML."""
    doctype = _DOCTYPE.search(data)
    if doctype:
        line = data.count(b"\n", 0, doctype.start()) + 1
        raise XmlRefusedError("the document declares a DTD or entities, which bank statements never do: refused", line)
    if len(data) > _MAX_BYTES:
        raise XmlRefusedError(f"the document is larger than {_MAX_BYTES // (1024 * 1024)} MB")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        message = exc.msg or "malformed XML"
        raise XmlRefusedError(f"not well-formed XML: {message}", exc.lineno or None) from None
    if root is None:
        raise XmlRefusedError("empty document")
    return root


def local_name(element: etree._Element) -> str:
    """The tag without its namespace ('' for comments and processing instructions)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def children(element: etree._Element, name: str) -> list[etree._Element]:
    """The direct children with local name `name`, in document order."""
    return [child for child in element if local_name(child) == name]


def find(element: etree._Element | None, path: str) -> etree._Element | None:
    """The first element along `path` ('BookgDt/Dt'), by local names, or None."""
    current = element
    for step in path.split("/"):
        if current is None:
            return None
        current = next((child for child in current if local_name(child) == step), None)
    return current


def text(element: etree._Element | None, path: str = "") -> str:
    """The stripped text at `path` below `element` ('' where missing)."""
    target = find(element, path) if path else element
    if target is None or target.text is None:
        return ""
    return target.text.strip()


def descendants(element: etree._Element, name: str) -> Iterator[etree._Element]:
    """All elements below `element` with local name `name`, in document order."""
    for node in element.iter():
        if local_name(node) == name and node is not element:
            yield node
