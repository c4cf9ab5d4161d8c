"""The pure half of the matching room imports no I/O: stdlib, its numeric libraries, itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOM = Path(__file__).resolve().parents[3] / "gateway" / "matching"
PURE = ("taxonomy", "fold", "mapper", "model", "scoring", "candidates", "assign", "choose")
LIBRARIES = {"numpy", "ortools", "rapidfuzz"}
OWN = {"gateway.matching", "gateway.errors"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_pure_modules_import_only_stdlib_their_libraries_and_the_room() -> None:
    for name in PURE:
        for module in imported(ROOM / f"{name}.py"):
            top = module.split(".")[0]
            allowed = (top in sys.stdlib_module_names or top in LIBRARIES or top == "__future__"
                       or any(module == own or module.startswith(own + ".") for own in OWN))
            assert allowed, f"gateway/matching/{name}.py imports {module}"
