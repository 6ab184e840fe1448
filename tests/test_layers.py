"""The architecture as a test: which layer may import what, read from the source with :mod:`ast`.

Nothing is imported or executed, so the check takes milliseconds. The layers, top to bottom:

- ``bot/channels/`` (chat libraries) may import ``handlers`` (the router); never the other way round;
- ``handlers/`` parse, ask services and render: no SQLAlchemy, no chat library, no HTTP, no delivery, no
  writes through a session; ``bot.models`` only for type hints (under ``if TYPE_CHECKING:``);
- ``bot/services/`` hold the logic: no handlers, views, channels, chat library or delivery;
- ``jobs/`` run services on a schedule: no chat library, no handlers.

Today's code still breaks some rules; those are listed in :data:`KNOWN_VIOLATIONS`, which may only shrink:
a violation not in it fails the test, and so does an entry that no longer occurs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: layer (folder under the repository root) -> module prefixes it must not import.
FORBIDDEN_IMPORTS: dict[str, tuple[str, ...]] = {
    "handlers": ("sqlalchemy", "telegram", "httpx", "bot.channels", "bot.delivery"),
    "bot/services": ("handlers", "bot.views", "bot.channels", "telegram", "bot.delivery"),
    "jobs": ("telegram", "handlers"),
}
#: handlers may name models in type hints only.
TYPE_HINT_ONLY: dict[str, tuple[str, ...]] = {"handlers": ("bot.models",)}
#: forbidden modules a layer may still name in type hints (the session a handler is handed).
TYPE_HINTS_ALLOWED: dict[str, tuple[str, ...]] = {"handlers": ("sqlalchemy.ext.asyncio",)}
#: handlers must not write through a session: ``<x>.session.<method>(...)`` or ``session.<method>(...)``.
NO_SESSION_WRITES = ("handlers",)
SESSION_WRITE_METHODS = frozenset({"add", "add_all", "delete", "execute", "merge", "flush"})

RULE_SESSION_WRITE = "no session writes"
RULE_TYPE_HINT_ONLY = "import {} only under TYPE_CHECKING"
RULE_FORBIDDEN = "must not import {}"

Key = tuple[str, str, str]

# (module path, rule, detail) of every violation in today's code: the logic that still has to move out of
# handlers/ into bot/services/, and the notice texts services take from bot/views. Remove an entry when its
# violation is fixed (the test says so); never add one. Details: the imported module, or the write call and
# the function it is in.
KNOWN_VIOLATIONS: frozenset[Key] = frozenset()  # none left: keep it that way


@dataclass(frozen=True)
class Violation:
    """One broken rule at one place in the source."""

    path: str
    line: int
    rule: str
    detail: str

    @property
    def key(self) -> Key:
        """What :data:`KNOWN_VIOLATIONS` lists: no line number, so unrelated edits do not move it."""
        return (self.path, self.rule, self.detail)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule} ({self.detail})"


def _layer(path: str) -> str | None:
    """The layer a repository-relative posix path belongs to (the longest matching folder)."""
    layers = sorted({*FORBIDDEN_IMPORTS, *TYPE_HINT_ONLY, *NO_SESSION_WRITES}, key=len, reverse=True)
    return next((layer for layer in layers if path.startswith(layer + "/")), None)


def _package(path: str) -> str:
    """The dotted package a module file is in (``handlers/admin.py`` -> ``handlers``)."""
    return ".".join(Path(path).parent.parts)


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Walker(ast.NodeVisitor):
    """Collects imports (with whether they are type-only) and session write calls, with their function."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.imports: list[tuple[int, tuple[str, ...], bool]] = []  # line, modules named, under TYPE_CHECKING
        self.writes: list[tuple[int, str, str]] = []  # line, call, enclosing function
        self._functions: list[str] = []
        self._type_checking = 0

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.visit(node.test)
        self._type_checking += 1
        for child in node.body:
            self.visit(child)
        self._type_checking -= 1
        for child in node.orelse:
            self.visit(child)

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self._functions.append(node.name)
        self.generic_visit(node)
        self._functions.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports.append((node.lineno, (alias.name,), self._type_checking > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".") if self.package else []
            parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
            base = ".".join([*parts, *([base] if base else [])])
        # ``from bot import delivery`` imports the module bot.delivery: the names count as modules too
        names = [f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*"]
        self.imports.append((node.lineno, (*([base] if base else []), *names), self._type_checking > 0))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in SESSION_WRITE_METHODS:
            owner = func.value
            if (isinstance(owner, ast.Name) and owner.id == "session") or (
                isinstance(owner, ast.Attribute) and owner.attr == "session"
            ):
                self.writes.append((node.lineno, ast.unparse(func), ".".join(self._functions) or "<module>"))
        self.generic_visit(node)


def check_source(source: str, path: str) -> list[Violation]:
    """The violations in one module; ``path`` is repository-relative posix (it decides the layer)."""
    layer = _layer(path)
    if layer is None:
        return []
    walker = _Walker(_package(path))
    walker.visit(ast.parse(source, filename=path))
    found: dict[Key, Violation] = {}

    def add(line: int, rule: str, detail: str) -> None:
        violation = Violation(path, line, rule, detail)
        found.setdefault(violation.key, violation)  # the first place is reported

    for line, modules, type_only in walker.imports:
        for prefix in FORBIDDEN_IMPORTS.get(layer, ()):
            module = next((m for m in modules if _matches(m, prefix)), None)
            hint = type_only and any(_matches(m, p) for m in modules for p in TYPE_HINTS_ALLOWED.get(layer, ()))
            if module is not None and not hint:
                add(line, RULE_FORBIDDEN.format(prefix), module)
        for prefix in TYPE_HINT_ONLY.get(layer, ()):
            module = next((m for m in modules if _matches(m, prefix)), None)
            if module is not None and not type_only:
                add(line, RULE_TYPE_HINT_ONLY.format(prefix), module)
    if layer in NO_SESSION_WRITES:
        for line, call, function in walker.writes:
            add(line, RULE_SESSION_WRITE, f"{call}() in {function}")
    return sorted(found.values(), key=lambda v: (v.path, v.line, v.rule, v.detail))


def _modules(root: Path) -> Iterator[Path]:
    for layer in sorted({*FORBIDDEN_IMPORTS, *TYPE_HINT_ONLY, *NO_SESSION_WRITES}):
        yield from sorted((root / layer).rglob("*.py"))


def scan(root: Path = ROOT) -> list[Violation]:
    """Every violation in the repository's layered folders."""
    violations: list[Violation] = []
    for file in _modules(root):
        violations += check_source(file.read_text(encoding="utf-8"), file.relative_to(root).as_posix())
    return violations


def test_the_layers_hold() -> None:
    violations = scan()
    new = [v for v in violations if v.key not in KNOWN_VIOLATIONS]
    occurring = {v.key for v in violations}
    fixed = sorted(KNOWN_VIOLATIONS - occurring)
    lines: list[str] = []
    if new:
        lines.append("New layer violations (fix them; do not add them to KNOWN_VIOLATIONS):")
        lines += [f"  {v}" for v in new]
    if fixed:
        lines.append("Fixed, so remove from KNOWN_VIOLATIONS in tests/test_layers.py:")
        lines += [f"  {key!r}," for key in fixed]
    if lines:
        pytest.fail("\n".join(lines), pytrace=False)


def test_every_layer_is_scanned() -> None:
    for layer in {*FORBIDDEN_IMPORTS, *TYPE_HINT_ONLY, *NO_SESSION_WRITES}:
        assert any((ROOT / layer).rglob("*.py")), f"{layer}/ has no Python files: is the rule table stale?"


SYNTHETIC = """
from __future__ import annotations

import sqlalchemy.orm
from typing import TYPE_CHECKING
from bot import delivery
from bot.channels.telegram import TelegramChannel

if TYPE_CHECKING:
    from bot.models import Unit
    import telegram
else:
    from bot.models import Member


async def save(ctx, row) -> None:
    import httpx

    ctx.session.add(row)
    await ctx.session.flush()


class Form:
    async def drop(self, session, row) -> None:
        await session.delete(row)
        session.get(row)  # a read
        self.sessions.add(row)  # not a session
"""


def test_the_checker_catches_synthetic_violations() -> None:
    got = {(v.line, v.rule, v.detail) for v in check_source(SYNTHETIC, "handlers/synthetic.py")}
    assert got == {
        (4, "must not import sqlalchemy", "sqlalchemy.orm"),
        (6, "must not import bot.delivery", "bot.delivery"),
        (7, "must not import bot.channels", "bot.channels.telegram"),
        (11, "must not import telegram", "telegram"),  # type-only imports count, except bot.models
        (13, "import bot.models only under TYPE_CHECKING", "bot.models"),
        (17, "must not import httpx", "httpx"),
        (19, RULE_SESSION_WRITE, "ctx.session.add() in save"),
        (20, RULE_SESSION_WRITE, "ctx.session.flush() in save"),
        (25, RULE_SESSION_WRITE, "session.delete() in Form.drop"),
    }
    service = "from bot.views.common import notice\nimport handlers.router\nfrom ..channels import base\n"
    assert {(v.rule, v.detail) for v in check_source(service, "bot/services/x.py")} == {
        ("must not import bot.views", "bot.views.common"),
        ("must not import handlers", "handlers.router"),
        ("must not import bot.channels", "bot.channels"),  # relative to bot.services
    }
    assert {v.rule for v in check_source("import telegram.ext\nfrom handlers import router\n", "jobs/x.py")} == {
        "must not import telegram",
        "must not import handlers",
    }
    # channels may import handlers and telegram; services may import models; other folders are not checked
    assert check_source("from handlers.router import Dispatcher\nimport telegram\n", "bot/channels/x.py") == []
    assert check_source("from bot.models import Unit\n", "bot/services/x.py") == []
    assert check_source("import telegram\n", "bot/app.py") == []
