"""Shared fixtures: generated sample data, a fresh store, the corpus folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.sample_data import generate

pytest_plugins = ["tests.xero_fixtures"]

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"real-file corpus not found at {CORPUS} (it lives beside the repo as ../shared/corpus)")
    return CORPUS


@pytest.fixture(scope="session")
def _generated_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-template")
    generate(out)
    return out


@pytest.fixture
def demo(tmp_path: Path, _generated_demo: Path) -> Path:
    """A private copy of the generated demo (bank/, ledger/, recon.toml) in tmp_path."""
    target = tmp_path / "demo"
    shutil.copytree(_generated_demo, target)
    return target
