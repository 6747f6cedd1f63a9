#!/usr/bin/env python3
"""The `use` graph of the policy's modules, checked for cycles (docs/design.md: dependencies point down).

Every file under src/ is a module (`src/a/b.rs` and `src/a/b/mod.rs` are `a::b`). An edge
M -> T means M names an item of T: a `use` of `crate::…`, `super::…`, `self::…` or of a child
module, or an inline path such as `crate::format::quote(…)`. `mod x;` declarations are
ownership, not use, and are not edges. Test code is left out, as `cargo modules dependencies
--lib` leaves it out: test-only files (`tests.rs`, `*_tests.rs`, `proptests.rs`, `tables.rs`)
and a file's trailing `#[cfg(test)] mod tests { … }`.

Usage: scripts/module-graph.py [--dot] [SRC]   exit 1 when the graph has a cycle.
"""

import re
import sys
from pathlib import Path

TEST_FILES = {"tests.rs", "proptests.rs", "tables.rs"}


def module_of(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts == ["lib"]:
        return "crate"
    return "::".join(parts)


def strip(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
    return text[: cut.start()] if cut else text


def expand(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [tree]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    items, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    return [p for item in items if item for p in expand(prefix + item)]


def resolve(module: str, path: str, modules: set[str]) -> str | None:
    segs = [s for s in path.split("::") if s and s != "*"]
    segs = [re.sub(r"\bas\b.*", "", s) for s in segs]
    here = [] if module == "crate" else module.split("::")
    if not segs:
        return None
    if segs[0] == "crate":
        base, rest = [], segs[1:]
    elif segs[0] == "super":
        base, rest = here[:], segs
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif segs[0] == "self":
        base, rest = here[:], segs[1:]
    elif "::".join(here + segs[:1]) in modules:
        base, rest = here[:], segs
    else:
        return None  # an external crate or a local item
    best = "::".join(base) or "crate"
    for i in range(1, len(rest) + 1):
        candidate = "::".join(base + rest[:i])
        if candidate in modules:
            best = candidate
    return best


def graph(src: Path) -> dict[str, set[str]]:
    files = {
        module_of(p, src): p
        for p in src.rglob("*.rs")
        if p.name not in TEST_FILES and not p.name.endswith("_tests.rs")
    }
    modules = set(files)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in files.items():
        text = strip(path.read_text())
        paths = [p for tree in re.findall(r"\buse\s+([^;]+);", text) for p in expand(tree)]
        paths += re.findall(r"\b(?:crate|super|self)(?:::\w+)+", text)
        for p in paths:
            target = resolve(module, p, modules)
            if target and target != module:
                edges[module].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src = Path(args[0] if args else "src")
    edges = graph(src)
    if "--dot" in sys.argv:
        print("digraph modules {")
        for m in sorted(edges):
            for t in sorted(edges[m]):
                print(f'  "{m}" -> "{t}";')
        print("}")
    found = cycles(edges)
    count = sum(len(t) for t in edges.values())
    for component in found:
        print("cycle among: " + ", ".join(component), file=sys.stderr)
    print(f"{len(edges)} modules, {count} use edges, {len(found)} cycles", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
