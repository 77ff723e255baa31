"""recon reads OFX with its own reader (line numbers for every element, no UTC shift of dates, files
ofxparse cannot read); on every corpus file ofxparse does read, both must agree on every transaction."""

import io
import warnings
from pathlib import Path

import pytest

from importers.ofx import OfxImporter
from recon.money import to_minor

ofxparse = pytest.importorskip("ofxparse", reason="ofxparse is a test dependency (pip install -e '.[test]')")


def _ofxparse_transactions(path: Path) -> list[tuple[str, int]] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = ofxparse.OfxParser.parse(io.BytesIO(path.read_bytes()))
    except Exception:  # ofxparse fails on several real files: those are not compared
        return None
    out = []
    for account in parsed.accounts:
        statement = account.statement
        if type(statement).__name__ != "Statement":
            return None
        currency = (statement.currency or "USD").upper()
        out.extend((t.id, to_minor(t.amount, currency)) for t in statement.transactions)
    return out


def test_recon_agrees_with_ofxparse_where_ofxparse_reads_the_file(corpus: Path) -> None:
    compared = 0
    for path in sorted((corpus / "ofx").glob("*")):
        theirs = _ofxparse_transactions(path)
        if not theirs:
            continue
        extract = OfxImporter().extract(path, currency="USD")
        if extract.problems:
            continue  # refused by recon (e.g. several accounts for one source): covered in test_ofx_corpus
        ours = list(zip(extract.rows["external_id"].to_list(), extract.rows["amount_minor"].to_list(), strict=True))
        assert sorted(ours) == sorted(theirs), path.name
        compared += 1
    assert compared >= 5
