"""Issue #18, finding 7: no import loop between our modules, and no dead code.

``copytrading/fanout.py`` imported the actors of ``copytrading/tasks.py`` inside its functions
while ``tasks.py`` imports ``fanout.py``: a loop hidden from the import-time check only by being
lazy. The graph below counts every import statement, wherever it stands.
"""

from __future__ import annotations

import ast
import re
import tokenize
from collections import Counter
from pathlib import Path

from django.conf import settings

PACKAGES = ("polyhunter", "accounts", "execution", "copytrading")
_DOTTED = re.compile(r"""^["'][A-Za-z_][\w]*(\.[A-Za-z_]\w*)+["']$""")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (Path(settings.BASE_DIR) / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(settings.BASE_DIR).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (``from a.b import c`` counts a.b.c when a module)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_finding_7_no_module_imports_itself_back_through_another() -> None:
    """Failed before the fix: fanout.py <-> tasks.py (and execution.venue.gateway <-> polymarket)."""
    assert loops(import_graph()) == []


def test_the_loop_finder_finds_a_loop() -> None:
    """A positive control for the check above."""
    assert loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def unused_definitions() -> list[str]:
    """Public top-level functions and classes of our apps that nothing else names (not even a
    test). Decorated ones (actors, admin registrations) and app configs are found by frameworks."""
    root = Path(settings.BASE_DIR)
    words: Counter[str] = Counter()
    for path in root.rglob("*.py"):
        if ".venv" not in path.parts and "var" not in path.parts:
            # Names in code, and dotted paths in strings (settings name classes that way); a
            # docstring or a comment naming a function does not use it.
            with path.open("rb") as source:
                for token in tokenize.tokenize(source.readline):
                    if token.type == tokenize.NAME:
                        words[token.string] += 1
                    elif token.type == tokenize.STRING and _DOTTED.match(token.string):
                        words[token.string.strip("\"'").rpartition(".")[2]] += 1
    for path in (root / "templates").rglob("*.html"):
        words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path.read_text()))
    unused = []
    for name, path in _modules().items():
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef | ast.ClassDef) or node.name.startswith("_"):
                continue
            framework = node.decorator_list or node.name.endswith("Config")
            if not framework and words[node.name] <= 1:
                unused.append(f"{name}.{node.name}")
    return unused


def test_finding_7_no_public_function_or_class_is_dead_code() -> None:
    """Failed before the fix: start_embedded_worker, order_filled_topic0, the unused money helpers
    (round_up, to_base_units, from_base_units, decimal_places) and is_address were never called."""
    assert unused_definitions() == []
