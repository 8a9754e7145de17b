"""Type hints on the domain packages (issue #12): every public function and method of the modules
mypy checks (pyproject.toml, [tool.mypy] files; `make test` runs mypy on them) says the types of
its parameters and what it returns, so the rule holds for the functions written next."""

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The domain packages, at least: a module may join [tool.mypy] files, none of these may leave it.
DOMAIN = (
    "issues/models",
    *(
        f"issues/common/{name}.py"
        for name in (
            "backends export filters ids lists lockout_admin lockout_app login_lockout middleware pdf_font people "
            "printing request_size rights scope scoped_admin"
        ).split()
    ),
    "issues/grading",
    *(f"issues/problems/{name}.py" for name in "intake photos lifecycle flags card page signals tasks links".split()),
    *(
        f"issues/eightd/{name}.py"
        for name in "rules sections solving steps summary attachments lessons printout print_data".split()
    ),
    *(f"issues/meetings/{name}.py" for name in "agenda meeting pages minutes".split()),
    "issues/board/queries.py",
    "issues/board/rows.py",
    *(f"issues/qchart/{name}.py" for name in "charts data drawing rows tasks".split()),
    "issues/plant_setup.py",
    *(
        f"escalation/{name}.py"
        for name in "models ladder policies sweep dispatch channels messages recipients timeline health".split()
    ),
    "escalation/inbox/queries.py",
)


def checked_paths() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["mypy"]["files"]


def modules(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for entry in paths:
        path = ROOT / entry
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


def public_functions(tree: ast.Module):
    """(qualified name, function, is a method) for module-level functions and the methods of
    module-level classes (nested classes too), leaving out names that start with "_"."""

    def walk(body, prefix: str, in_class: bool):
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
                yield f"{prefix}{node.name}", node, in_class
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                yield from walk(node.body, f"{prefix}{node.name}.", True)

    yield from walk(tree.body, "", False)


def missing_hints(function: ast.FunctionDef | ast.AsyncFunctionDef, is_method: bool) -> list[str]:
    arguments = function.args
    parameters = [*arguments.posonlyargs, *arguments.args]
    static = any(isinstance(item, ast.Name) and item.id == "staticmethod" for item in function.decorator_list)
    if is_method and not static and parameters:
        parameters = parameters[1:]  # self or cls
    parameters += [*arguments.kwonlyargs, *filter(None, [arguments.vararg, arguments.kwarg])]
    missing = [parameter.arg for parameter in parameters if parameter.annotation is None]
    return missing + ([] if function.returns is not None else ["return"])


def unannotated(files: list[Path], root: Path = ROOT) -> dict[str, list[str]]:
    """ "path:qualified name" -> what it does not annotate ("return" for its return type)."""
    found = {}
    for path in files:
        relative = path.relative_to(root).as_posix()
        for name, function, is_method in public_functions(ast.parse(path.read_text(), str(path))):
            if missing := missing_hints(function, is_method):
                found[f"{relative}:{name}"] = missing
    return found


def test_mypy_checks_the_domain_packages():
    checked = {(ROOT / entry).resolve() for entry in checked_paths()}

    def covered(entry: str) -> bool:
        path = (ROOT / entry).resolve()
        return any(path == item or item in path.parents for item in checked)

    assert [entry for entry in DOMAIN if not covered(entry)] == []


def test_every_public_function_of_the_checked_modules_is_annotated():
    found = unannotated(modules(checked_paths()))

    assert found == {}


def test_a_missing_hint_is_found(tmp_path):
    module = tmp_path / "domain.py"
    module.write_text(
        "class Report:\n"
        "    def total(self, rows: list[int], scale) -> int: ...\n"
        "    @staticmethod\n"
        "    def empty(rows: list[int]): ...\n"
        "    def _private(self, anything): ...\n"
        "    class Meta:\n"
        "        def label(self): ...\n"
        "def kept(*args: int, **kwargs: str) -> None: ...\n"
        "def loose(value: int, *, when): ...\n"
        "def _helper(value): ...\n"
    )

    assert unannotated([module], root=tmp_path) == {
        "domain.py:Report.total": ["scale"],
        "domain.py:Report.empty": ["return"],
        "domain.py:Report.Meta.label": ["return"],
        "domain.py:loose": ["when", "return"],
    }
