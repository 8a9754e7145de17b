"""The repository explains itself (issue #12): code cites docs/ pages and headings that exist,
nothing cites a document outside the repository, the README's map names every package with a
link to its docs page, and every link and module reference in README.md and docs/ resolves.

Each check is a function of a root directory returning what it found wrong (nothing = fine).
It runs on the repository, and on a small broken sample in tmp_path, which shows it catches
what it checks (a check that never fails proves nothing)."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SELF = Path(__file__).resolve()  # it names the forbidden citations to look for them
PACKAGE_ROOTS = ("issues", "escalation", "customers", "assessment", "qrqc_site")
SKIPPED_DIRS = {".venv", ".git", "var", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}

# A docs citation in code, tests or templates: `docs/grading.md`, `docs/grading.md §Recurrence`
# (a heading of the page, followed by anything) or `docs/grading.md#recurrence` (its anchor).
CITATION = re.compile(
    r"docs/(?P<page>[\w.-]+\.md)(?:#(?P<anchor>[\w-]+)|[ \t]*§[ \t]*(?P<section>(?:(?!docs/)[^\n])+))?"
)

# Citations of the domain and design references kept outside the repository, and their bare
# section numbers (docs/ headings are words, never numbers).
OUTSIDE = re.compile(r"DOMAIN\.md|DESIGN\.md|SEED-FACTS|\.\./shared|\bDOMAIN §|§ ?\d")
# A migration records a field or a row as it was: these lines keep the old text on purpose
# (0013 rewrote both; docs/architecture.md §Migrations and commands).
OUTSIDE_ALLOWED = {
    "issues/migrations/0006_eightd_reports_and_lifecycle.py": "help_text='DOMAIN §6: at most 3 more days.'",
    "issues/migrations/0013_rework_days_help_and_template_note.py": 'OLD_NOTE = "defaults from DOMAIN.md §3"',
}

MARKDOWN_LINK = re.compile(r"!?\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
PROJECT_REFERENCE = re.compile("(?:" + "|".join(PACKAGE_ROOTS) + r")(?:\.\w+)+")  # issues.grading.rules.grade
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:


def files(root: Path) -> list[Path]:
    """The text files of the tree: in a git checkout what git tracks or would (not what it ignores,
    such as the browser tests' screenshots), elsewhere every file; binary files left out."""
    if (root / ".git").exists():
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            capture_output=True,
            check=True,
        ).stdout.decode()
        candidates = sorted(root / name for name in listed.split("\0") if name)
    else:
        candidates = sorted(root.rglob("*"))
    found = []
    for path in candidates:
        relative = path.relative_to(root)
        if path.is_file() and not SKIPPED_DIRS.intersection(relative.parts) and b"\0" not in path.read_bytes():
            found.append(path)
    return found


def text_of(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def markdown_pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines of a Markdown text outside fenced code blocks, numbered from 1."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def heading_text(line: str) -> str | None:
    match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
    if not match:
        return None
    text = MARKDOWN_LINK.sub(lambda link: link["text"], match[1])
    return text.replace("`", "").replace("**", "").strip()


def headings(page: Path) -> list[str]:
    return [text for _n, line in prose_lines(text_of(page)) if (text := heading_text(line)) is not None]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, each space a hyphen."""
    kept = "".join(c for c in heading.lower() if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated one gets -1, -2, … as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for heading in headings(page):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def section_named(section: str, page: Path) -> bool:
    """`§Review, and …` names the heading "Review": the text starts with a heading, whole words."""
    return any(
        section.startswith(heading) and not section[len(heading) : len(heading) + 1].isalnum()
        for heading in headings(page)
    )


# --- the checks ------------------------------------------------------------------------------


def broken_citations(root: Path) -> list[str]:
    """(a) Every docs/ citation outside docs/ names a page that exists, and a heading of it."""
    problems = []
    for path in files(root):
        relative = path.relative_to(root)
        if path.resolve() == SELF or relative.parts[0] == "docs" or path.suffix in (".mo", ".png", ".ttf", ".ttc"):
            continue
        for number, line in enumerate(text_of(path).splitlines(), 1):
            for citation in CITATION.finditer(line):
                page = root / "docs" / citation["page"]
                where = f"{relative}:{number}: {citation[0].strip()}"
                if not page.is_file():
                    problems.append(f"{where}: no page docs/{citation['page']}")
                elif citation["anchor"] and citation["anchor"] not in anchors(page):
                    problems.append(f"{where}: no heading #{citation['anchor']} in docs/{citation['page']}")
                elif citation["section"] and not section_named(citation["section"], page):
                    problems.append(f"{where}: no heading starting that text in docs/{citation['page']}")
    return problems


def outside_citations(root: Path) -> list[str]:
    """(b) No file cites DOMAIN.md, DESIGN.md or ../shared (nor their bare § numbers)."""
    problems = []
    for path in files(root):
        relative = path.relative_to(root)
        if path.resolve() == SELF:
            continue
        allowed = OUTSIDE_ALLOWED.get(relative.as_posix())
        for number, line in enumerate(text_of(path).splitlines(), 1):
            if OUTSIDE.search(line) and not (allowed and allowed in line):
                problems.append(f"{relative}:{number}: {line.strip()[:100]}")
    return problems


def packages(root: Path) -> list[str]:
    found = set()
    for package_root in PACKAGE_ROOTS:
        for marker in (root / package_root).rglob("__init__.py"):
            relative = marker.parent.relative_to(root)
            if not SKIPPED_DIRS.intersection(relative.parts):
                found.add(relative.as_posix())
    return sorted(found)


def readme_map(root: Path) -> str:
    text = text_of(root / "README.md")
    match = re.search(r"^## What is where\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    return match[1] if match else ""


def unmapped_packages(root: Path) -> list[str]:
    """(c) Every package is named in the README's map, linked to a docs page that exists."""
    the_map = readme_map(root)
    problems = []
    for package in packages(root):
        link = re.search(r"\[`" + re.escape(package) + r"/`\]\((?P<target>[^)\s]+)\)", the_map)
        if not link:
            problems.append(f"{package}/: not in the README's map as [`{package}/`](docs/….md#…)")
            continue
        page, _hash, anchor = link["target"].partition("#")
        if not (page.startswith("docs/") and page.endswith(".md") and (root / page).is_file()):
            problems.append(f"{package}/: links to {link['target']}, not a docs page that exists")
        elif anchor and anchor not in anchors(root / page):
            problems.append(f"{package}/: links to {link['target']}, no such heading")
    return problems


def broken_links(root: Path) -> list[str]:
    """(d) Every relative link in README.md and docs/*.md leads to a file, and to a heading of it."""
    problems = []
    for page in markdown_pages(root):
        for number, line in prose_lines(text_of(page)):
            for link in MARKDOWN_LINK.finditer(INLINE_CODE.sub("", line)):
                target = link["target"]
                if EXTERNAL.match(target):
                    continue
                path, _hash, anchor = target.partition("#")
                destination = (page.parent / path).resolve() if path else page
                where = f"{page.relative_to(root)}:{number}: ({target})"
                if not destination.exists():
                    problems.append(f"{where}: no such file")
                elif anchor and (destination.suffix != ".md" or anchor not in anchors(destination)):
                    problems.append(f"{where}: no such heading")
    return problems


def unresolved(reference: str) -> str:
    """Why `issues.grading.rules.grade` or `issues.models.problem.Problem.Status` does not name
    what it says ("" when it does): the longest prefix that imports, then attributes; a function
    or class must be named where it is defined (or by its package), not where it is imported."""
    parts = reference.split(".")
    for length in range(len(parts), 0, -1):
        module = ".".join(parts[:length])
        try:
            target = importlib.import_module(module)
        except ImportError:
            continue
        for depth, name in enumerate(parts[length:]):
            if not hasattr(target, name):
                return "does not import"
            target = getattr(target, name)
            defined_in = getattr(target, "__module__", None)
            if depth == 0 and (inspect.isfunction(target) or inspect.isclass(target)) and isinstance(defined_in, str):
                if defined_in != module and not defined_in.startswith(module + "."):
                    return f"imported there, defined in {defined_in}"
        return ""
    return "does not import"


def model_resolves(reference: str) -> bool | None:
    """`Problem.escalation_plan`: a model of issues.models or escalation.models and its attribute;
    None when the first name is no model (then it is not a reference this check knows)."""
    first, *rest = reference.split(".")
    for models in ("issues.models", "escalation.models"):
        model = getattr(importlib.import_module(models), first, None)
        if isinstance(model, type):
            return not unresolved(".".join([models, first, *rest]))
    return None


def stale_references(root: Path) -> list[str]:
    """(e) Every module, function, model attribute, path and file named in `code` in README.md
    and docs/*.md exists (the code moves; the docs must follow)."""
    top_level = {p.name for p in root.iterdir() if p.name not in SKIPPED_DIRS}
    file_names = {p.name for p in files(root)}
    problems = []
    for page in markdown_pages(root):
        for number, line in prose_lines(text_of(page)):
            for code in INLINE_CODE.findall(line):
                token = re.split(r"[\s(\[]", code.strip(), maxsplit=1)[0].rstrip(",.:;")
                where = f"{page.relative_to(root)}:{number}: `{token}`"
                if re.search(r"[<>*{}$…]", token):
                    continue  # a pattern, not a name
                if PROJECT_REFERENCE.fullmatch(token):
                    if why := unresolved(token):
                        problems.append(f"{where}: {why}")
                elif re.fullmatch(r"[A-Z]\w*(?:\.\w+)+", token):
                    if model_resolves(token) is False:
                        problems.append(f"{where}: no such attribute")
                elif "/" in token and token.split("/")[0] in top_level:
                    if not (root / token).exists():
                        problems.append(f"{where}: no such path")
                elif re.fullmatch(r"\w+\.py", token) and token not in file_names:
                    problems.append(f"{where}: no such file")
    return problems


CHECKS: list[Callable[[Path], list[str]]] = [
    broken_citations,
    outside_citations,
    unmapped_packages,
    broken_links,
    stale_references,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_the_repository_passes(check):
    assert check(ROOT) == []


# --- each check fails on what it checks -----------------------------------------------------

GOOD_PAGE = "# Grading\n\n## Recurrence\n\nA C problem the second time is B ([special team](#special-team)).\n\n## Special team\n"
GOOD_README = (
    "# Demo\n\n## What is where\n\n"
    "- [`issues/`](docs/grading.md#recurrence) problems\n"
    "  - [`issues/grading/`](docs/grading.md) grading: `issues.grading.rules.grade`, `rules.py`\n"
    "\n## Next\n"
)


def sample(tmp_path: Path, **changes: str) -> Path:
    """A tiny repository that passes every check; `changes` maps a file to its broken content."""
    content = {
        "README.md": GOOD_README,
        "docs/grading.md": GOOD_PAGE,
        "issues/__init__.py": "",
        "issues/grading/__init__.py": "",
        "issues/grading/rules.py": '"""Grading (docs/grading.md §Recurrence, docs/grading.md#special-team)."""\n',
    }
    content.update(changes)
    for name, text in content.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_sample_passes_every_check(tmp_path):
    root = sample(tmp_path)

    assert {check.__name__: check(root) for check in CHECKS} == {check.__name__: [] for check in CHECKS}


BROKEN = [
    (broken_citations, {"issues/grading/rules.py": "# see docs/grading.md §Thresholds\n"}, "no heading starting"),
    (broken_citations, {"issues/grading/rules.py": "# docs/grading.md §Recurrences\n"}, "no heading starting"),
    (broken_citations, {"templates/a.html": "{# docs/grading.md#thresholds #}\n"}, "no heading #thresholds"),
    (broken_citations, {"tests/test_a.py": "# docs/grades.md §Recurrence\n"}, "no page docs/grades.md"),
    (outside_citations, {"issues/grading/rules.py": '"""Grading (DOMAIN.md §3)."""\n'}, "DOMAIN.md §3"),
    (outside_citations, {"tests/test_a.py": "# the design (../shared/DESIGN.md)\n"}, "../shared/DESIGN.md"),
    (outside_citations, {"issues/grading/rules.py": "# the recurrence rules (§3.7)\n"}, "(§3.7)"),
    (unmapped_packages, {"issues/board/__init__.py": ""}, "issues/board/: not in the README's map"),
    (unmapped_packages, {"README.md": GOOD_README.replace("docs/grading.md)", "docs/grades.md)")}, "grades.md"),
    (unmapped_packages, {"README.md": GOOD_README.replace("#recurrence", "#recurrences")}, "no such heading"),
    (broken_links, {"docs/grading.md": GOOD_PAGE.replace("#special-team", "#special-teams")}, "no such heading"),
    (broken_links, {"README.md": GOOD_README + "See [the rules](docs/rules.md).\n"}, "no such file"),
    (stale_references, {"README.md": GOOD_README.replace("rules.grade", "rules.regrade")}, "does not import"),
    (stale_references, {"docs/grading.md": GOOD_PAGE + "`issues.plant_setup.copy_default_table`\n"}, "defined in"),
    (stale_references, {"docs/grading.md": GOOD_PAGE + "In `issues/grading/thresholds.py`.\n"}, "no such path"),
    (stale_references, {"docs/grading.md": GOOD_PAGE + "`Problem.no_such_field`\n"}, "no such attribute"),
    (stale_references, {"README.md": GOOD_README.replace("`rules.py`", "`grading.py`")}, "no such file"),
]


@pytest.mark.parametrize(
    ("check", "changes", "reported"), BROKEN, ids=[f"{check.__name__}-{n}" for n, (check, *_rest) in enumerate(BROKEN)]
)
def test_each_check_reports_what_is_broken(tmp_path, check, changes, reported):
    problems = check(sample(tmp_path, **changes))

    assert len(problems) == 1 and reported in problems[0], problems
