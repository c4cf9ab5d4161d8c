"""The import rules of docs/ARCHITECTURE.md hold: each room imports only what the doc allows, and no file circle."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "gateway"
DOC = ROOT / "docs" / "ARCHITECTURE.md"
RULE = re.compile(r"^- `([\w]+)`(?: \(`[^`]*`\))?: (.+)$")


def allowed_imports(doc: str = "") -> dict[str, set[str]]:
    """The "Who may import whom" list of the doc: `- `room`: `other`, `other`` (or "nothing")."""
    text = doc or DOC.read_text(encoding="utf-8")
    section = text.split("## Who may import whom", 1)[1].split("\n## ", 1)[0]
    rules: dict[str, set[str]] = {}
    for line in section.splitlines():
        found = RULE.match(line.strip())
        if found:
            rules[found.group(1)] = set(re.findall(r"`(\w+)`", found.group(2)))
    return rules


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _outside_type_checking(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:` (annotations only, never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                yield child
                yield from _outside_type_checking(child)
            continue
        yield node
        yield from _outside_type_checking(node)


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The gateway modules a file imports, at top level or inside functions."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _outside_type_checking(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gateway")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "gateway":
                continue
            for alias in node.names:  # `from gateway import durations` imports a module
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m in known and m != module}


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def forbidden_imports(graph: dict[str, set[str]], rules: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        room = room_of(module)
        if not room:
            continue
        if room not in rules:
            problems.append(f"{module}: room `{room}` is not in docs/ARCHITECTURE.md")
            continue
        for target in sorted(targets):
            other = room_of(target)
            if other and other != room and other not in rules[room]:
                problems.append(f"{module} imports {target}: `{room}` may not import `{other}`")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan), or a file importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_room_imports_only_what_the_architecture_doc_allows() -> None:
    assert forbidden_imports(import_graph(), allowed_imports()) == []


def test_no_import_circle_between_files() -> None:
    assert cycles(import_graph()) == []


def test_the_doc_lists_every_room_and_only_existing_ones() -> None:
    rooms = {room_of(m) for m in all_modules()} - {""}
    rules = allowed_imports()
    assert set(rules) == rooms
    assert all(targets <= rooms for targets in rules.values())


@pytest.mark.parametrize("line", [
    "from gateway.relay.forward import PairPeople\n",
    "def f() -> None:\n    from gateway.app import App\n",
])
def test_a_forbidden_import_is_caught(tmp_path: Path, line: str) -> None:
    """The check itself can fail: the moderation engine reaching up into relay or app."""
    modules = all_modules()
    path = tmp_path / "intruder.py"
    path.write_text(line, encoding="utf-8")
    graph = import_graph()
    graph["gateway.moderation.intruder"] = imports_of("gateway.moderation.intruder", path, set(modules))
    assert forbidden_imports(graph, allowed_imports())


def test_a_circle_is_caught_but_not_a_type_checking_import(tmp_path: Path) -> None:
    modules = set(all_modules())
    typed = tmp_path / "typed.py"
    typed.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from gateway.app import App\n", encoding="utf-8")
    assert imports_of("gateway.store.typed", typed, modules) == set()
    graph = import_graph()
    graph["gateway.store.models"] = graph["gateway.store.models"] | {"gateway.store.audit"}
    assert ["gateway.store.audit", "gateway.store.models"] in cycles(graph)
