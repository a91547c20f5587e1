"""The references the code cites (``PHYSICS.md §2``, ``DEPLOYMENT.md §4``) ship in docs/
and hold every section cited."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CITATION = re.compile(r"\b(PHYSICS|DEPLOYMENT)\.md §(\d+(?:\.\d+)?)")
SECTION = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", re.MULTILINE)
CITING = ("cooling", "tests", "benchmarks", "envs", "hil", "scripts")


def _sections(doc: str) -> set[str]:
    return set(SECTION.findall((DOCS / f"{doc}.md").read_text(encoding="utf-8")))


def _citations() -> list[tuple[str, str, str]]:
    files = [ROOT / "README.md"]
    for top in CITING:
        files += [p for p in (ROOT / top).rglob("*") if p.suffix in (".py", ".yaml", ".md", ".sh")]
    found = []
    for path in files:
        for doc, section in CITATION.findall(path.read_text(encoding="utf-8")):
            found.append((str(path.relative_to(ROOT)), doc, section))
    return found


def test_the_section_pattern_reads_the_references_headings():
    assert {"1", "1.1", "1.2", "2", "7", "10"} <= _sections("PHYSICS")
    assert {"1", "3", "4"} <= _sections("DEPLOYMENT")


def test_every_cited_section_is_in_the_shipped_references():
    citations = _citations()
    assert len(citations) > 20  # the plant's modules cite PHYSICS.md throughout
    sections = {doc: _sections(doc) for doc in ("PHYSICS", "DEPLOYMENT")}
    missing = [f"{path}: {doc}.md §{s}" for path, doc, s in citations if s not in sections[doc]]
    assert not missing, f"cited sections absent from docs/: {missing}"
