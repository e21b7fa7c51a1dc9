"""The figures of issue 25, measured on a source tree: ``python benchmarks/spine_figures.py [benchmark]``.

Prints, for the core package (``benchmark/`` by default):

* **lines per module** (every ``.py`` file, physical lines), and how many exceed 700;
* **import circles** among the core's modules, counting imports made inside functions and
  leaving out those under ``if TYPE_CHECKING:`` (the same rule as ``../shared/tools/importcycles.py``:
  strongly connected components of the module graph);
* **parameters per function**: the functions with more than 7 (``self``/``cls`` left out,
  ``*args``/``**kwargs`` not counted);
* **row-key reads**: lines that read a stored row by string key (``row["x"]``, ``row.get("x")``
  and the like) outside the record's own serialisation (``record.py``, ``cells.py``);
* **imports inside functions** of ``benchmark.*`` modules.

It reads the files as text (``ast``), imports nothing, and is what the closing note's
before/after table was made with.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

MAX_LINES = 700
MAX_PARAMS = 7
ROW_READ = re.compile(r'\b(row|r|result|first|last|best|raw|stored|winner|other)\[\s*"[a-z_]+"\s*\]'
                      r'|\b(row|r|result|first|last|best|raw|stored|winner|other)\.get\(\s*"[a-z_]+"')
SERIALISATION = {"record.py", "cells.py"}


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(tree: ast.AST, name: str, known: set[str], package: bool) -> tuple[set[str], int]:
    """The core modules ``name`` imports (TYPE_CHECKING blocks left out), and how many of those
    imports sit inside a function."""
    found: set[str] = set()
    inside = 0

    def target(module: str, names: list[str]) -> list[str]:
        hits = []
        for alias in names:
            if f"{module}.{alias}" in known:
                hits.append(f"{module}.{alias}")
        if not hits and module in known:
            hits.append(module)
        return hits

    def visit(node: ast.AST, in_function: bool) -> None:
        nonlocal inside
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:
                    visit(other, in_function)
                continue
            fn = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            hits: list[str] = []
            if isinstance(child, ast.Import):
                hits = [a.name for a in child.names if a.name in known]
            elif isinstance(child, ast.ImportFrom):
                module = child.module or ""
                if child.level:
                    base = name.split(".") if package else name.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    module = ".".join(base + ([module] if module else []))
                hits = target(module, [a.name for a in child.names])
            hits = [h for h in hits if h != name]
            found.update(hits)
            if hits and in_function:
                inside += 1
            visit(child, in_function or fn)

    visit(tree, False)
    return found, inside


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args] + [p.arg for p in a.kwonlyargs]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return len(names)


def main(root: Path) -> int:
    mods = modules(root)
    known = set(mods)
    graph: dict[str, set[str]] = {}
    inside_total = 0
    long_modules, wide = [], []
    row_reads: dict[str, int] = {}
    total = 0
    for name, path in mods.items():
        text = path.read_text()
        lines = text.count("\n")
        total += lines
        if lines > MAX_LINES:
            long_modules.append((lines, name))
        tree = ast.parse(text)
        graph[name], inside = imports(tree, name, known, path.name == "__init__.py")
        inside_total += inside
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and params(node) > MAX_PARAMS:
                wide.append((params(node), f"{name}.{node.name}"))
        if path.name not in SERIALISATION:
            count = sum(1 for line in text.splitlines() if ROW_READ.search(line))
            if count:
                row_reads[name] = count
    print(f"{root}: {len(mods)} modules, {total:,} lines")
    print(f"modules over {MAX_LINES} lines: {len(long_modules)}"
          + "".join(f"\n  {n:5d} {m}" for n, m in sorted(long_modules, reverse=True)))
    found = circles(graph)
    print(f"import circles (imports inside functions counted, TYPE_CHECKING left out): {len(found)}"
          + "".join(f"\n  {' <-> '.join(c)}" for c in found))
    print(f"functions with more than {MAX_PARAMS} parameters: {len(wide)}"
          + "".join(f"\n  {n:3d} {f}" for n, f in sorted(wide, reverse=True)))
    print(f"row-key reads outside the record's serialisation: {sum(row_reads.values())} lines in "
          f"{len(row_reads)} modules" + "".join(f"\n  {n:4d} {m}" for m, n in sorted(row_reads.items(), key=lambda x: -x[1])))
    print(f"imports of benchmark modules inside functions: {inside_total}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "benchmark")))
