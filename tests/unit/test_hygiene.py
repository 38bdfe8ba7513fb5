"""The suite's own guarantees: no network, a light `import jtbench`, no import circles."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest
from fresh_python import run_python

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_outbound_connection_fails_the_test():
    with pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)
    with pytest.raises(RuntimeError, match="network"):
        socket.socket().connect(("203.0.113.5", 80))


def test_import_jtbench_is_light():
    heavy = "('torch', 'ray', 'diffusers', 'transformers')"
    code = f"import sys, jtbench; jtbench.Benchmark; print(sorted(m for m in {heavy} if m in sys.modules))"
    assert run_python(code).strip() == "[]"


def _module_names(root: Path, packages: tuple[str, ...]) -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (file, is_package)}`` for every module under the given top-level packages."""
    found: dict[str, tuple[Path, bool]] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph(root: Path, packages: tuple[str, ...] = ("jtbench", "baselines")) -> dict[str, set[str]]:
    """Module → the project modules it imports, anywhere in the file (in functions too, as a deferred
    import still closes a circle when it runs). ``from pkg import name`` points at ``pkg.name`` when that
    is a module, else at ``pkg``; relative imports are resolved; outside modules are left out."""
    modules = _module_names(root, packages)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*here[: len(here) - node.level + 1], *([node.module] if node.module else [])])
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    targets.add(target if target in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One closed path (``a → b → … → a``) per strongly connected component with two or more modules
    (Tarjan's algorithm, iterative so deep graphs cannot overflow the stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return [_closed_path(graph, component) for component in components]


def _closed_path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """The shortest circle through the component's first module (breadth-first inside the component)."""
    first = min(component)
    previous: dict[str, str] = {}
    frontier = [first]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == first:
                    path = [node]
                    while path[-1] != first:
                        path.append(previous[path[-1]])
                    return [*reversed(path), first]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no circle through {first} in {sorted(component)}")  # a component always has one


def test_cycle_finder_names_planted_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"f"}, "f": {"e"}, "g": {"a"}}
    assert sorted(import_cycles(graph)) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_import_graph_sees_deferred_relative_and_from_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .leaf import thing\n")
    (pkg / "sub" / "leaf.py").write_text("import os\n\ndef f():\n    from pkg import top\n")
    (pkg / "top.py").write_text("def g():\n    from pkg.sub import leaf, thing\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph == {"pkg": set(), "pkg.sub": {"pkg.sub.leaf"}, "pkg.sub.leaf": {"pkg.top"},
                     "pkg.top": {"pkg.sub.leaf", "pkg.sub"}}  # fmt: skip
    assert import_cycles(graph) == [["pkg.sub", "pkg.sub.leaf", "pkg.top", "pkg.sub"]]


def test_no_import_circles_in_jtbench_and_baselines():
    """Two modules that import each other (even from inside a function) cannot be read, tested or
    moved apart; the shared piece belongs in a module both import."""
    graph = import_graph(REPO_ROOT)
    assert len(graph) > 100  # the walk found the packages
    cycles = import_cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(" → ".join(cycle) for cycle in cycles)
