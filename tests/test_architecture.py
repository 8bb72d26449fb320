"""The shape of the code, checked: what the README's architecture section promises.

The layer contracts themselves are import-linter's (``lint-imports``, run by ``.ci/run``); these
tests hold the rules it cannot express: no import cycle between modules, no two modules with one
name, no overlong production function, flows as module-level routers that never see a session.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage", "scheduler")
MAX_FUNCTION_LINES = 80


def production_files() -> list[Path]:
    files = []
    for pkg in PACKAGES:
        files += [p for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def test_no_two_modules_share_a_name():
    by_name = defaultdict(list)
    for path in production_files():
        if path.name not in ("__init__.py", "__main__.py"):
            by_name[path.stem].append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in by_name.items() if len(paths) > 1} == {}


def test_no_production_function_is_over_80_lines():
    long = []
    for path in production_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def test_flows_are_module_level_routers_that_never_see_a_session():
    offenders = []
    for path in (ROOT / "handlers").rglob("*.py"):
        text = path.read_text()
        tree = ast.parse(text)
        offenders += [
            f"{path.name}: def {n.name}" for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "register"
        ]
        offenders += [f"{path.name}:{i}" for i, line in enumerate(text.splitlines(), 1) if ".session" in line]
    assert offenders == []


def test_no_import_cycle_between_project_modules():
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    modules = sorted(m for m in graph.modules if not m.endswith("__main__"))
    # Tarjan's strongly connected components over "imports" edges (a package imports its __init__'s imports)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(start: str) -> None:
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.append(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    assert cycles == []
