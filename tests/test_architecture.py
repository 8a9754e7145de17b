"""The import direction (.importlinter, checked by `lint-imports` in `make test`): the tree keeps
it, every module has its place in it, and an import against it is reported."""

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("issues", "escalation", "customers", "assessment", "qrqc_site")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", str(root / ".importlinter")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def contracts() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return config


def test_the_tree_keeps_every_contract():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def modules_of(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        found.append(".".join(parts))
    return found


def test_every_module_of_issues_and_escalation_has_its_layer():
    layers = contracts()["importlinter:contract:layers"]["layers"]
    named = {name.strip() for line in layers.splitlines() for name in re.split(r"[|:]", line) if name.strip()}
    packages = {".".join(name.split(".")[:depth]) for name in named for depth in range(1, name.count(".") + 1)}

    def placed(module: str) -> bool:
        parts = module.split(".")
        return any(".".join(parts[:depth]) in named for depth in range(1, len(parts) + 1)) or module in packages

    unplaced = [module for package in ("issues", "escalation") for module in modules_of(package) if not placed(module)]

    assert unplaced == [], "give each of these its layer in .importlinter"


@pytest.fixture
def tree(tmp_path):
    """A copy of the code and the contracts, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path)
    return tmp_path


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{statement}\n")


@pytest.mark.parametrize(
    ("module", "statement", "broken"),
    [
        # A view that imports another feature's view.
        (
            "issues.board.views",
            "from issues.qchart import views as qchart_views",
            "No view imports another view",
        ),
        # A domain module that imports a view.
        ("issues.problems.lifecycle", "from issues.problems import views", "One import direction"),
        # A lower layer that imports a higher one.
        ("issues.grading.thresholds", "from issues.problems import intake", "One import direction"),
        # A pure rule that imports the models.
        ("issues.eightd.rules", "from issues.models import Section", "One import direction"),
        # A task that imports a view.
        ("issues.qchart.tasks", "from issues.qchart import views", "Tasks and context processors import no views"),
        # Customer complaints reaching for the problem page.
        ("customers.apps", "from issues.problems import page", "customers and assessment use only"),
    ],
)
def test_an_import_against_the_direction_is_reported(tree, module, statement, broken):
    assert lint_imports(tree).returncode == 0  # the copy keeps the contracts until the import is added

    add_import(tree, module, statement)
    result = lint_imports(tree)

    assert result.returncode != 0
    report = " ".join(result.stdout.split())
    assert re.search(re.escape(broken) + r".*BROKEN", report), result.stdout
    assert module in report


def test_the_readme_map_names_every_package():
    readme = (ROOT / "README.md").read_text()
    where = readme.split("## What is where", 1)[1].split("\n## ", 1)[0]
    packages = sorted(
        str(path.parent.relative_to(ROOT)) + "/"
        for package in ("issues", "escalation")
        for path in (ROOT / package).rglob("__init__.py")
        if "migrations" not in path.parts and "management" not in path.parts
    )

    missing = [package for package in packages if package.split("/")[-2] + "/" not in where]

    assert missing == []
