"""The docs are true: citations point at sections that exist, the README's layout is the tree."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CITED = ("extension", "bench", "docs", "tests")
# `docs/CONTRACT.md 6.1`, `docs/CONTRACT.md section 9`, and in docs/: `[CONTRACT.md](CONTRACT.md) section 6.1`.
CITATION = re.compile(r"(?:docs/|\]\()([A-Z_]+\.md)\)?(?: section)? (\d+(?:\.\d+)?)\b")
# Files that are not in the repository must not be cited.
ABSENT = re.compile(r"\bSPEC\b|(?<!_)\bGENESYS\.md\b")


def _texts() -> dict[Path, str]:
    files = [p for top in CITED for p in (REPO / top).rglob("*") if p.suffix in {".py", ".md"}]
    files += [REPO / "README.md", REPO / "pyproject.toml", REPO / "Makefile"]
    return {p: p.read_text(encoding="utf-8") for p in files if p.is_file() and p != Path(__file__)}


def _sections(doc: Path) -> set[str]:
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", doc.read_text(encoding="utf-8"), re.M))


def test_only_files_of_the_repository_are_cited() -> None:
    found = [f"{p.relative_to(REPO)}:{text[:m.start()].count(chr(10)) + 1}"
             for p, text in _texts().items() for m in ABSENT.finditer(text)]
    assert found == []


def test_every_cited_section_exists() -> None:
    citations = [(p, m.group(1), m.group(2)) for p, text in _texts().items() for m in CITATION.finditer(text)]
    assert len(citations) > 20
    missing = [f"{p.relative_to(REPO)} cites {doc} {number}" for p, doc, number in citations
               if not (REPO / "docs" / doc).is_file() or number not in _sections(REPO / "docs" / doc)]
    assert missing == []


def _layout_paths() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^## Layout\n\n```\n(.*?)```", readme, re.M | re.S)
    assert block is not None
    paths: list[str] = []
    parent = base = ""
    for line in block.group(1).splitlines():
        code = line.split("#", 1)[0]
        tokens = code.split()
        indent = len(code) - len(code.lstrip())
        if indent == 0:
            parent = base = ""
            if tokens == ["extension/"]:
                parent = "extension/"
            elif tokens and tokens[0].endswith("/") and not all(t.endswith("/") for t in tokens[1:]):
                # `docs/  CONTRACT.md ...`: the files of that folder.
                paths.append(tokens[0])
                paths.extend(tokens[0] + t for t in tokens[1:])
                continue
        elif indent == 2:
            base = parent
            if tokens and tokens[0].endswith("/") and len(tokens) > 1:
                base = parent + tokens[0]
                paths.append(base)
                tokens = tokens[1:]
        paths.extend(base + t if indent else t for t in tokens)
    return paths


def test_the_readme_layout_names_only_paths_that_exist() -> None:
    paths = _layout_paths()
    assert "extension/providers/genesys_om/provider.py" in paths and "docs/CONTRACT.md" in paths
    assert [p for p in paths if not (REPO / p).exists()] == []


def test_the_readme_layout_names_every_package_and_doc() -> None:
    named = set(_layout_paths())
    packages = {f"{p.parent.relative_to(REPO)}/" for p in (REPO / "extension").glob("*/__init__.py")}
    packages.discard("extension/testing/")
    assert packages - named == set()
    assert "extension/testing/emulator/" in named
    docs = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}
    assert docs - named == set()
    modules = {f"extension/{p.name}" for p in (REPO / "extension").glob("*.py") if p.name != "__init__.py"}
    assert modules - named == set()


def test_the_readme_shows_the_emulator_and_the_demo_options() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "python -m extension.testing.emulator --port 9100" in readme
    assert "genesys-om doctor --config examples/demo.toml" in readme
    assert "genesys-om serve  --config examples/demo.toml" in readme
    synopsis = re.search(r"^## The command\n\n```\n(.*?)```", readme, re.M | re.S)
    assert synopsis is not None
    assert "--log-level" in synopsis.group(1)
    demo = next(line for line in synopsis.group(1).splitlines() if line.startswith("genesys-om demo"))
    assert "[--host HOST]" in demo and "[--emulator-port P]" in demo


def test_the_embedding_guide_names_what_the_embedding_test_uses() -> None:
    guide = (REPO / "docs" / "EMBEDDING.md").read_text(encoding="utf-8")
    used = (REPO / "tests" / "test_embedding.py").read_text(encoding="utf-8")
    for name in ("load_manifest", "schema().load", "parse_config", "build_app", "keys.SESSIONS",
                 "handle_input", "UserInput", "webhook_path", "read_events", "X-Hub-Signature-256",
                 "runner.cleanup"):
        assert name in guide and name in used, name


# Made by the wheel build (the shipped declarations and examples) or by running `serve` (its store).
NOT_IN_THE_TREE = {"extension/_declarations/", "extension/_examples/", "examples/demo.db"}
REPO_PATH = re.compile(r"\b(?:docs|bench|examples|extension|nodes|connections|tests|\.ci)/[\w./-]*[\w/]")


def test_every_path_the_docs_name_exists() -> None:
    docs = [REPO / "README.md", *(REPO / "docs").glob("*.md")]
    named = {(doc.name, m.group(0)) for doc in docs for m in REPO_PATH.finditer(doc.read_text(encoding="utf-8"))}
    assert len(named) > 20
    missing = [f"{doc}: {path}" for doc, path in sorted(named)
               if path not in NOT_IN_THE_TREE and not (REPO / path).exists() and not (REPO / "docs" / path).exists()]
    assert missing == []
