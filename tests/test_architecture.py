"""The layering holds: imports only go down, without cycles; the core never names a front end."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import REPO

ROOT = REPO
PACKAGE = ROOT / "bot"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Every bot module with the bot modules it imports (anywhere in the file)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name} | {
            m for m in found if m == "discord" or m.startswith("discord.")
        }
    return graph


def test_no_import_cycles() -> None:
    graph = {k: {m for m in v if m.startswith("bot")} for k, v in _imports().items()}
    # Packages import nothing of their own in __init__, so edges between modules are the graph.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_core_never_imports_a_front_end_or_discord() -> None:
    for module, imported in _imports().items():
        if module.startswith(("bot.frontends", "bot.config")):
            continue
        bad = {m for m in imported if m.startswith(("bot.frontends", "discord"))}
        assert not bad, f"{module} imports {sorted(bad)}"


def test_only_front_ends_import_discord() -> None:
    # The CLI imports discord only to start (`run`) and register (`sync`) the Discord bot.
    allowed = ("bot.frontends.discord", "bot.frontends.cli")
    for module, imported in _imports().items():
        if any(m == "discord" or m.startswith("discord.") for m in imported):
            assert module.startswith(allowed), module


def test_benchmarks_are_outside_the_runtime_package() -> None:
    assert not (PACKAGE / "bench.py").exists() and (ROOT / "benchmarks" / "bench.py").exists()
