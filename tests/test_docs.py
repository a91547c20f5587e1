"""The references the code cites (``PHYSICS.md §2``, ``DEPLOYMENT.md §4``) ship in docs/
and hold every section cited."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# "PHYSICS.md §1.1", also across a line break ("PHYSICS.md\n    §7")
CITATION = re.compile(r"\b(PHYSICS|DEPLOYMENT)\.md\s+§(\d+(?:\.\d+)*)")
SECTION = re.compile(r"^#{2,4} (\d+(?:\.\d+)*)[. ]", re.MULTILINE)
FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CITING = ("cooling", "tests", "benchmarks", "envs", "hil", "scripts")


def _sections(doc: str) -> set[str]:
    text = FENCED.sub("", (DOCS / f"{doc}.md").read_text(encoding="utf-8"))
    return set(SECTION.findall(text))


def _citations() -> list[tuple[str, str, str]]:
    files = [ROOT / "README.md"]
    for top in CITING:  # every text file: hil/mosquitto/acl and mosquitto.conf cite them too
        files += [p for p in sorted((ROOT / top).rglob("*")) if p.is_file()]
    found = []
    for path in files:
        if path == Path(__file__).resolve() or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # data, not prose
            continue
        for doc, section in CITATION.findall(text):
            found.append((str(path.relative_to(ROOT)), doc, section))
    return found


def test_the_patterns_read_the_references_headings_and_citations():
    assert {"1", "1.1", "1.2", "2", "7", "10"} <= _sections("PHYSICS")
    assert {"1", "3", "4"} <= _sections("DEPLOYMENT")
    cited = CITATION.findall("(PHYSICS.md §4.2.1) and PHYSICS.md\n      §7.")
    assert cited == [("PHYSICS", "4.2.1"), ("PHYSICS", "7")]


def test_every_cited_section_is_in_the_shipped_references():
    citations = _citations()
    assert len(citations) > 20  # the plant's modules cite PHYSICS.md throughout
    sections = {doc: _sections(doc) for doc in ("PHYSICS", "DEPLOYMENT")}
    missing = [f"{path}: {doc}.md §{s}" for path, doc, s in citations if s not in sections[doc]]
    assert not missing, f"cited sections absent from docs/: {missing}"


# a relative markdown link, "[text](docs/RESULTS.md#algorithms-and-seeds)"
LINK = re.compile(r"\]\(([^)\s:]+?\.md)(?:#([^)\s]+))?\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_links_between_the_readme_and_docs_reach_their_files_and_headings():
    assert _anchor("How much is there to save against the rules?") == (
        "how-much-is-there-to-save-against-the-rules"
    )
    checked, broken = 0, []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target, anchor in LINK.findall(page.read_text(encoding="utf-8")):
            linked = (page.parent / target).resolve()
            checked += 1
            if not linked.is_file():
                broken.append(f"{page.name}: {target} (no such file)")
                continue
            text = FENCED.sub("", linked.read_text(encoding="utf-8"))
            anchors = {_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}
            if anchor and anchor not in anchors:
                broken.append(f"{page.name}: {target}#{anchor} (no such heading)")
    assert checked >= 8  # the README's links into docs/RESULTS.md, and its link back
    assert not broken, broken
