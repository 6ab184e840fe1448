"""The wheel ships the bot, not its test tooling: no fake Bot API, no tests, and no shipped code needing them."""

from __future__ import annotations

import ast
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from setuptools import find_namespace_packages, find_packages

ROOT = Path(__file__).resolve().parents[1]
#: a package whose dotted name has a part like one of these is test tooling.
TEST_TOOLING = ("*testing*", "tests*", "*fake*")


def shipped_packages() -> list[str]:
    """The packages ``pip wheel .`` would pick, found the way pyproject's ``[tool.setuptools.packages.find]``
    finds them (``namespaces`` defaults to true there, so folders without ``__init__.py`` count too).

    A folder holding nothing but ``__pycache__`` (left over from a deleted package) ships nothing and is
    skipped, so a stale local checkout does not fail the test.
    """
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    find = config["tool"]["setuptools"]["packages"]["find"]
    finder = find_namespace_packages if find.get("namespaces", True) else find_packages
    packages: list[str] = []
    for where in find.get("where", ["."]):
        base = ROOT / where
        for name in finder(str(base), include=find.get("include", ["*"]), exclude=find.get("exclude", ())):
            folder = base.joinpath(*name.split("."))
            if any(path.is_file() for path in folder.iterdir()):
                packages.append(name)
    return sorted(packages)


def test_the_wheel_ships_no_test_tooling() -> None:
    packages = shipped_packages()
    assert {"bot", "handlers", "jobs"} <= set(packages), packages  # the discovery itself works
    tooling = [
        name
        for name in packages
        if any(fnmatch(part.lower(), pattern) for part in name.split(".") for pattern in TEST_TOOLING)
    ]
    assert not tooling, f"the wheel would ship test tooling: {tooling} (move it under tests/)"


def _imports_of_tests(source: str, filename: str) -> list[int]:
    """Lines importing ``tests`` (statements, or ``import_module("tests...")`` / ``__import__``)."""
    lines: list[int] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        if any(name == "tests" or name.startswith("tests.") for name in names):
            lines.append(node.lineno)
    return sorted(lines)


def test_shipped_code_does_not_import_tests() -> None:
    found: list[str] = []
    for package in shipped_packages():
        for file in sorted(ROOT.joinpath(*package.split(".")).glob("*.py")):
            relative = file.relative_to(ROOT).as_posix()
            found += [f"{relative}:{line}" for line in _imports_of_tests(file.read_text(encoding="utf-8"), relative)]
    assert not found, "shipped code imports test tooling:\n" + "\n".join(found)


def test_the_import_scan_sees_imports_of_tests() -> None:
    source = "import tests.fakes\nfrom tests import fakes\nimport importlib\nimportlib.import_module('tests.x')\n"
    assert _imports_of_tests(source, "x.py") == [1, 2, 4]
    assert _imports_of_tests("import testsuite\nfrom bot import tests\n", "x.py") == []
