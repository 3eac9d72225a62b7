"""The README and docs/ stay true to the code: size, links, module paths, layout and quoted commands."""
from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from workbench.papers import all_papers

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))
PAGES = [README, *DOCS]
GENERATED = {ROOT / "docs" / "cli.md"}           # rendered from the parser; its usage lines hold placeholders
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+)`")
PLACEHOLDER = re.compile(r"[A-Z]{2,}|<|…|\.\.\.")   # NAME, <capability>, … mark a pattern, not a real path


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return FENCE.sub("", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", _prose(path.read_text()), re.M)}


def test_readme_is_at_most_10_kb():
    size = len(README.read_bytes())
    assert size <= 10 * 1024, f"README.md is {size} bytes; move details into docs/"


def test_dashboard_screenshot_is_small():
    image = ROOT / "docs" / "img" / "dashboard.png"
    assert image.is_file() and image.stat().st_size < 300_000


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_relative_links_point_to_existing_files(page):
    broken = []
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue                                     # https:, mailto:
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{_rel(page)}: broken links {broken}"


def test_every_paper_has_a_page_linked_from_the_readme():
    readme = README.read_text()
    papers = [p.id for p in all_papers()]
    assert papers == [f"P{i}" for i in range(1, 11)]
    for pid in papers:
        assert (ROOT / "docs" / "papers" / f"{pid}.md").is_file(), f"docs/papers/{pid}.md is missing"
        assert f"(docs/papers/{pid}.md)" in readme, f"README does not link docs/papers/{pid}.md"


def test_readme_layout_lists_every_package():
    layout = re.search(r"^## Layout\n+```\n(.*?)^```", README.read_text(), re.M | re.S)
    assert layout, "README.md has no Layout block"
    listed = set(re.findall(r"^ +(\w+)/", layout.group(1), re.M))
    packages = {p.parent.name for p in (ROOT / "workbench").glob("*/__init__.py")}
    assert not packages - listed, f"README Layout omits {sorted(packages - listed)}"
    assert not listed - packages, f"README Layout lists packages that do not exist: {sorted(listed - packages)}"


def test_readme_table_matches_the_paper_registry():
    titles = {}
    for view in (ROOT / "dashboard" / "views").glob("*.py"):
        found = re.search(r'VIEW = View\(key="(\w+)", title="([^"]+)"', view.read_text())
        if found:
            titles[found.group(1)] = found.group(2)
    rows = {line.split("|")[1].split()[0]: [cell.strip() for cell in line.split("|")[1:-1]]
            for line in README.read_text().splitlines() if re.match(r"\| P\d+ ", line)}
    for paper in all_papers():
        assert paper.id in rows, f"README's paper table has no row for {paper.id}"
        _, notebook, views, _, _ = rows[paper.id]
        assert notebook == f"`{Path(paper.notebook).name}`", f"{paper.id}: notebook {notebook} is not {paper.notebook}"
        assert views == ", ".join(titles[key] for key in paper.views), f"{paper.id}: views {views} vs {paper.views}"


# --- module paths ---------------------------------------------------------------------------------------------

def _tree_paths(block: str) -> list[str]:
    """The paths of a layout tree: indented names ending in / or .py, several per line allowed."""
    stack: list[tuple[int, str]] = []
    paths = []
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        names = []
        for token in line.split():
            if not re.fullmatch(r"[\w<>.\-]+(/[\w.\-]+)*/?", token) or not (token.endswith("/") or
                                                                            token.endswith(".py")):
                break
            names.append(token)
        if not names:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        head, rest = names[0], names[1:]
        paths.append(parent + head)
        if head.endswith("/"):
            stack.append((indent, parent + head))
            parent += head                         # "dashboard/  app.py, cache.py": names in that folder
        paths += [parent + name for name in rest]
    return [p for p in paths if not PLACEHOLDER.search(p)]


def _slash_paths(text: str) -> set[str]:
    found = {m.rstrip(".,;:") for m in re.findall(r"(?<![\w/$.])((?:workbench|dashboard|tests|data|benchmarks|scripts|notebooks|docs)/[\w/.\-]*)", text)}
    return {p for p in found if not PLACEHOLDER.search(p)}


def _module_names(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w/.\-])((?:workbench|dashboard)(?:\.\w+)+)", text))


def _defines(source: str, name: str) -> bool:
    if re.search(rf"^\s*(?:def|class)\s+{name}\b|^\s*{name}\s*[:=]", source, re.M):
        return True
    imports = re.findall(r"^\s*from\s+\S+\s+import\s+(\([^)]*\)|[^\n]*)", source, re.M)
    return any(re.search(rf"\b{name}\b", names) for names in imports)


def _resolve_module(dotted: str) -> str | None:
    """None when ``a.b.c[.attr[.attr]]`` names a module file and, after it, names it defines; else why not."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        module = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if module.is_file():
            rest = parts[cut:]
            if rest and not _defines(module.read_text(), rest[0]):
                return f"{'.'.join(parts[:cut])} does not define {rest[0]}"
            return None
    return "no such module"


@pytest.mark.parametrize("page", [p for p in PAGES if p not in GENERATED], ids=_rel)
def test_named_modules_and_paths_exist(page):
    text = page.read_text()
    missing = [p for p in sorted(_slash_paths(text)) if not (ROOT / p).exists()]
    for block in FENCE.findall(text):
        if re.match(r"\s*(workbench|dashboard)/", block):
            missing += [p for p in _tree_paths(block) if not (ROOT / p).exists()]
    for name in sorted(_module_names(text)):
        why = _resolve_module(name)
        if why:
            missing.append(f"{name} ({why})")
    assert not missing, f"{_rel(page)} names what does not exist: {missing}"


def test_contributing_names_the_refactored_layout():
    text = (ROOT / "docs" / "contributing.md").read_text()
    for required in ("workbench/cli/main.py", "workbench.media", "synth/", "save_weights", "load_weights",
                     "config_key", "build_once", "workbench.llm.readout.answer_probs", "dashboard/cache.py",
                     "data/papers.json", "register_builder", "BUILDER_MODULES"):
        assert required in text, f"docs/contributing.md does not mention {required}"


# --- quoted commands ------------------------------------------------------------------------------------------

def _commands_in_blocks(text: str) -> list[str]:
    commands = []
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            words = line.split("#", 1)[0].split()
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words.pop(0)                                   # WORKBENCH_PROFILE=paper workbench ...
            if words and words[0].endswith("bin/workbench"):
                words[0] = "workbench"
            if words and words[0] == "workbench":
                commands.append(line.split("#", 1)[0].strip())
    return commands


def _parse(parser, argv: list[str]) -> str | None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            if exc.code:
                return err.getvalue().strip().splitlines()[-1] if err.getvalue() else f"exit {exc.code}"
    return None


def _command_words(parser, words: list[str]) -> str | None:
    """An inline `workbench noun [verb]` names a registered command (arguments after it are not checked)."""
    import argparse

    current = parser
    for word in words:
        if word.startswith("-") or PLACEHOLDER.search(word):
            return None
        subs = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return None
        if word not in subs[0].choices:
            return f"unknown command word '{word}'"
        current = subs[0].choices[word]
    return None


@pytest.mark.parametrize("page", [p for p in PAGES if p not in GENERATED], ids=_rel)
def test_quoted_workbench_commands_parse(page):
    from workbench.cli.main import make_parser

    parser = make_parser()
    text = page.read_text()
    failures = []
    for command in _commands_in_blocks(text):
        words = shlex.split(command)
        words = words[words.index("workbench") + 1:] if "workbench" in words else words[1:]
        why = _parse(parser, words)
        if why:
            failures.append(f"{command!r}: {why}")
    for span in INLINE.findall(_prose(text)):
        if span.startswith("workbench "):
            why = _command_words(parser, span.split()[1:])
            if why:
                failures.append(f"`{span}`: {why}")
    assert not failures, f"{_rel(page)}:\n" + "\n".join(failures)


def test_paper_pages_quote_the_claims_only_from_the_registry(tmp_path):
    """Each docs/papers page carries its abstract's numbers in the block rendered from data/papers.json, and
    types no claimed number outside it; write_claim_docs rewrites only that block."""
    import shutil

    from workbench.papers import CLAIMS_BEGIN, CLAIMS_END, REGENERATE_CLAIMS, claims_markdown, write_claim_docs

    for paper in all_papers():
        text = (ROOT / "docs" / "papers" / f"{paper.id}.md").read_text()
        assert claims_markdown(paper.id) in text, f"{paper.id}.md: claims block out of date; run {REGENERATE_CLAIMS}"
        outside = text[:text.index(CLAIMS_BEGIN)] + text[text.index(CLAIMS_END):]
        for claim in paper.claims:
            value = f"{claim.value:g}"
            if len(value.replace(".", "")) >= 2 and not value.endswith("0"):   # round numbers recur as settings
                assert not re.search(rf"(?<![\d.]){re.escape(value)}(?![\d])", outside), \
                    f"{paper.id}.md types the claimed {claim.metric} ({value}) outside its claims block"
    shutil.copytree(ROOT / "docs" / "papers", tmp_path / "papers")
    page = tmp_path / "papers" / "P9.md"
    page.write_text(page.read_text().replace(claims_markdown("P9"), f"{CLAIMS_BEGIN}\n- stale\n{CLAIMS_END}"))
    assert write_claim_docs(tmp_path / "papers") == ["P9"]
    assert page.read_text() == (ROOT / "docs" / "papers" / "P9.md").read_text()
