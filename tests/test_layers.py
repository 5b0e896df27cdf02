"""The layer rule of rxunix, checked on the source: who may import what, and no cycles.

``core`` is pure (no gevent, socket, select, threading, reactivex, nor another
rxunix layer); ``rx`` adds reactivex; ``edge`` adds gevent and sockets;
``app`` and ``notebook`` sit on top. Every import counts, also one inside a
function, except those under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rxunix"

IO_AND_RX = {"gevent", "socket", "select", "selectors", "threading", "_thread", "asyncio", "reactivex"}
IO = IO_AND_RX - {"reactivex"}
#: layer -> (third-party/stdlib roots it must not import, rxunix layers it may import)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "core": (IO_AND_RX, {"core"}),
    "rx": (IO, {"core", "rx"}),
    "edge": (set(), {"core", "rx", "edge"}),
    "notebook": (set(), {"core", "rx", "edge", "notebook"}),
    "app": (set(), {"core", "rx", "edge", "app"}),
}
#: rxunix's own top-level modules (facade, version, old-path aliases): above every layer.
TOP = {"rxunix", "rxunix.__main__", "rxunix._version", "rxunix._aliases"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Absolute names of what ``path`` imports (submodules resolved where they exist)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    found.add(sub)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and module not in TOP else None


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def violations(g: dict[str, set[str]]) -> list[str]:
    out = []
    for module, imported in sorted(g.items()):
        layer = layer_of(module)
        if layer is None:
            continue
        assert layer in RULES, f"{module}: not in a known layer ({', '.join(RULES)})"
        banned, allowed = RULES[layer]
        for target in sorted(imported):
            root = target.split(".")[0]
            if root in banned:
                out.append(f"{module} ({layer}) imports {target}")
            elif root == "rxunix":
                other = layer_of(target)
                if other is None and target != "rxunix._version":
                    out.append(f"{module} ({layer}) imports the facade {target}")
                elif other is not None and other not in allowed:
                    out.append(f"{module} ({layer}) imports {target} ({other})")
    return out


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle among rxunix's modules (one path per strongly connected part)."""
    edges = {m: {t for t in ts if t in g and t != m} for m, ts in g.items()}
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                found.append(stack[stack.index(t):] + [t])
            elif t not in state:
                walk(t)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            walk(m)
    return found


def test_every_module_keeps_its_layer() -> None:
    assert violations(graph()) == []


def test_no_import_cycle_anywhere() -> None:
    assert cycles(graph()) == []


def test_the_checker_sees_a_forbidden_import_and_a_cycle(tmp_path: Path) -> None:
    g = {
        "rxunix.core.a": {"gevent", "rxunix.core.b"},
        "rxunix.core.b": {"rxunix.core.a", "rxunix.edge.x"},
        "rxunix.rx.r": {"reactivex", "rxunix.core.a"},
        "rxunix.edge.x": {"socket", "rxunix.rx.r"},
    }
    assert violations(g) == [
        "rxunix.core.a (core) imports gevent",
        "rxunix.core.b (core) imports rxunix.edge.x (edge)",
    ]
    assert ["rxunix.core.a", "rxunix.core.b", "rxunix.core.a"] in cycles(g)


@pytest.mark.parametrize("layer", sorted(RULES))
def test_each_layer_is_a_package(layer: str) -> None:
    assert (PACKAGE / layer / "__init__.py").is_file()


def test_module_and_function_sizes() -> None:
    """No module over 500 lines; no function over 60 lines outside ``app``."""
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = module_name(path)
        if text.count("\n") > 500:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        if layer_of(name) == "app":
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert too_long == []
