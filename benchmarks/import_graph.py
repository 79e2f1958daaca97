"""The package's import graph, checked: import cycles, "upward" imports (the library importing a command) and
TensorFlow reaching the modules that must stay free of it; and ``docs/layout.md`` rebuilt from the modules'
docstrings (issue 21).

Every module of ``vae_gan_tf/`` is parsed (never imported, so the script needs neither TensorFlow nor the
package's dependencies: standard library only). An edge A -> B is any ``import`` of B in A: ``import x.y``,
``from x import y``, ``from x import submodule`` (resolved to the submodule), relative imports, at module
level or inside a function (a function-level import is an edge too: the issue asks for no circles in the
import graph at all). ``importlib.import_module(...)`` calls with a computed name (the catalog's lazy
model classes, ``__main__``'s command dispatch) are not edges.

    python benchmarks/import_graph.py                          # the report of ./vae_gan_tf
    python benchmarks/import_graph.py --json                   # the same, as JSON
    python benchmarks/import_graph.py --root /tmp/old/vae_gan_tf   # another checkout of the package
    python benchmarks/import_graph.py --write-layout           # regenerate docs/layout.md

The exit code is 0 whatever the report says; ``tests/test_layout.py`` turns it into assertions.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO / "vae_gan_tf"

COMMANDS = ("train", "sample", "evaluate", "compare", "verify", "complete", "denoise", "__main__")
# Modules that must import no TensorFlow at module level, directly or through other modules (names below
# the package; "cli.*" is the package and everything in it). Every package __init__ is added to these.
TF_FREE = ("config", "models.catalog", "models.config_base", "models.vae.configs", "models.gan.configs",
           "training.cluster", "runs.folder", "errors", "cli.*", "data.source_names")
# Packages whose __init__ is Keras code itself (the network builders), exempt from the __init__ rule.
TF_PACKAGES = ("nets",)
# Importing any of these imports TensorFlow (Keras 3's backend here is TensorFlow).
TENSORFLOW = ("tensorflow", "keras", "tf_keras")

# The folders of docs/layout.md in the order data flows through them; folders not named go last.
FOLDER_ORDER = ("", "cli", "data", "nets", "models", "models/vae", "models/gan", "training", "runs",
                "evaluation", "evaluation/metrics", "uses", "report", "reference")
DESCRIPTION_MAX = 100
LAYOUT_COMMAND = "python benchmarks/import_graph.py --write-layout"


class Module(NamedTuple):
    name: str  # dotted, e.g. "vae_gan_tf.models.vae.vae"
    path: Path
    rel: str  # path relative to the package folder, e.g. "models/vae/vae.py"
    is_package: bool  # an __init__.py


class Import(NamedTuple):
    source: str
    target: str  # a module of the package
    line: int
    scope: str  # "module", "function" or "type-checking"


class Graph(NamedTuple):
    package: str
    root: Path
    modules: dict[str, Module]
    imports: list[Import]  # one per (source, target, line)
    tensorflow_lines: dict[str, list[tuple[int, str]]]  # module -> (line, "tensorflow"/"keras")

    def edges(self, scopes=("module", "function", "type-checking")) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {name: set() for name in self.modules}
        for imp in self.imports:
            if imp.scope in scopes:
                out[imp.source].add(imp.target)
        return out


# ---------------------------------------------------------------------------------------------- modules


def discover_modules(root: Path) -> dict[str, Module]:
    """Every ``.py`` file under ``root`` (package ``__init__``s included), by dotted module name."""
    root = Path(root)
    modules = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts:
            continue
        parts = [root.name, *rel.with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        modules[name] = Module(name, path, rel.as_posix(), is_package)
    return modules


def top_level_count(modules: dict[str, Module]) -> int:
    """The modules directly in the package folder (``__init__`` and ``__main__`` included)."""
    return sum(1 for m in modules.values() if "/" not in m.rel)


# ---------------------------------------------------------------------------------------------- imports


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _import_nodes(tree: ast.Module):
    """(node, scope) for every Import / ImportFrom: "function" inside a def (at any depth), "type-checking"
    under ``if TYPE_CHECKING:``, otherwise "module" (class bodies, try/if/with blocks run at import)."""
    found = []

    def visit(node, scope):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, scope))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, "function")
            elif isinstance(child, ast.If) and _is_type_checking(child.test) and scope == "module":
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), "type-checking")
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), scope)
            else:
                visit(child, scope)

    visit(tree, "module")
    return found


def _resolve(name: str, modules: dict[str, Module]) -> str | None:
    """The deepest module of the package that ``name`` names (``a.b.C`` -> ``a.b`` for a class C)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _absolute_base(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom imports from (relative imports resolved against ``module``)."""
    if not node.level:
        return node.module or ""
    package = module.name.split(".")
    if not module.is_package:
        package = package[:-1]
    if node.level > 1:
        package = package[:len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def module_imports(module: Module, modules: dict[str, Module], package: str):
    """(imports of the package's modules, lines importing TensorFlow/Keras at module level) of one module."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    internal: dict[tuple[str, int], Import] = {}
    tensorflow_lines = []

    def add(target, line, scope):
        if target is not None:
            internal.setdefault((target, line), Import(module.name, target, line, scope))

    def is_internal(name):
        return name == package or name.startswith(package + ".")

    for node, scope in _import_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if is_internal(alias.name):
                    add(_resolve(alias.name, modules), node.lineno, scope)
                elif alias.name.split(".")[0] in TENSORFLOW and scope == "module":
                    tensorflow_lines.append((node.lineno, alias.name.split(".")[0]))
            continue
        base = _absolute_base(module, node)
        if node.level == 0 and not is_internal(base):
            if base.split(".")[0] in TENSORFLOW and scope == "module":
                tensorflow_lines.append((node.lineno, base.split(".")[0]))
            continue
        for alias in node.names:
            submodule = f"{base}.{alias.name}" if alias.name != "*" else None
            if submodule in modules:
                add(submodule, node.lineno, scope)  # from pkg import submodule
            else:
                add(_resolve(base, modules), node.lineno, scope)
    return list(internal.values()), tensorflow_lines


def build_graph(root: Path = DEFAULT_ROOT) -> Graph:
    root = Path(root).resolve()
    modules = discover_modules(root)
    imports, tensorflow_lines = [], {}
    for module in modules.values():
        found, tf_lines = module_imports(module, modules, root.name)
        imports.extend(found)
        if tf_lines:
            tensorflow_lines[module.name] = tf_lines
    imports.sort(key=lambda i: (i.source, i.line, i.target))
    return Graph(root.name, root, modules, imports, tensorflow_lines)


# ----------------------------------------------------------------------------------------------- checks


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), each sorted."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def find_cycles(graph: Graph, scopes=("module", "function", "type-checking")) -> list[list[str]]:
    """The import cycles: every strongly connected component of more than one module, and every module
    that imports itself (a one-element list), sorted."""
    edges = graph.edges(scopes)
    cycles = [c for c in strongly_connected(edges) if len(c) > 1 or c[0] in edges[c[0]]]
    return sorted(cycles, key=lambda c: (-len(c), c))


def cycle_imports(graph: Graph, cycle: list[str]) -> list[Import]:
    """The imports that hold one cycle together (both ends inside it)."""
    members = set(cycle)
    return [i for i in graph.imports if i.source in members and i.target in members]


def command_modules(graph: Graph) -> set[str]:
    return {f"{graph.package}.{c}" for c in COMMANDS} & set(graph.modules)


def upward_imports(graph: Graph) -> list[Import]:
    """Imports of a command module by a library module (any module that is not a command)."""
    commands = command_modules(graph)
    return [i for i in graph.imports if i.target in commands and i.source not in commands]


def tensorflow_free_modules(graph: Graph) -> tuple[list[str], list[str]]:
    """(the modules of this tree that must stay TensorFlow-free, the names of TF_FREE absent from it)."""
    names, missing = set(), []
    for entry in TF_FREE:
        full = f"{graph.package}.{entry.removesuffix('.*')}"
        matched = {n for n in graph.modules
                   if n == full or (entry.endswith(".*") and n.startswith(full + "."))}
        if not matched:
            missing.append(f"{graph.package}.{entry}")
        names |= matched
    exempt = {f"{graph.package}.{name}" for name in TF_PACKAGES}
    names |= {n for n, m in graph.modules.items() if m.is_package and n not in exempt}
    return sorted(names), missing


def _ancestors(name: str, graph: Graph) -> list[str]:
    """The packages Python imports before ``name`` itself (``a`` and ``a.b`` for ``a.b.c``)."""
    parts = name.split(".")
    return [p for p in (".".join(parts[:k]) for k in range(1, len(parts))) if p in graph.modules]


def tensorflow_chain(graph: Graph, name: str) -> list[str] | None:
    """The shortest chain of module-level imports by which importing ``name`` imports TensorFlow, ending
    in the third-party module (``tensorflow`` or ``keras``), or None. Importing ``a.b.c`` also runs the
    ``__init__`` of ``a`` and ``a.b`` first, so a module's packages count as imported by it."""
    edges = graph.edges(("module",))
    parent: dict[str, str | None] = {name: None}
    queue = [name]
    while queue:
        current = queue.pop(0)
        if current in graph.tensorflow_lines:
            chain = [current]
            while parent[chain[-1]] is not None:
                chain.append(parent[chain[-1]])
            chain.reverse()
            return chain + [graph.tensorflow_lines[current][0][1]]
        for nxt in sorted(edges[current]) + _ancestors(current, graph):
            if nxt not in parent:
                parent[nxt] = current
                queue.append(nxt)
    return None


def tensorflow_violations(graph: Graph) -> dict[str, list[str]]:
    """TF-free module -> the chain of module-level imports that brings TensorFlow in."""
    free, _ = tensorflow_free_modules(graph)
    return {name: chain for name in free if (chain := tensorflow_chain(graph, name)) is not None}


def report(graph: Graph) -> dict:
    imports = graph.imports
    free, missing = tensorflow_free_modules(graph)
    cycles = find_cycles(graph)

    def row(i: Import) -> dict:
        return {"source": i.source, "target": i.target, "line": i.line, "scope": i.scope}

    return {
        "root": str(graph.root),
        "modules": {"top_level": top_level_count(graph.modules), "total": len(graph.modules)},
        "imports": {"total": len(imports),
                    "module_level": sum(i.scope == "module" for i in imports),
                    "function_level": sum(i.scope == "function" for i in imports),
                    "type_checking": sum(i.scope == "type-checking" for i in imports),
                    "note": "an import inside a function is an edge too (no circles in the import graph at "
                            "all); importlib.import_module with a computed name is not"},
        "cycles": cycles,
        "cycle_imports": [[row(i) for i in cycle_imports(graph, c)] for c in cycles],
        "cycles_module_level_only": find_cycles(graph, ("module",)),
        "upward_imports": [row(i) for i in upward_imports(graph)],
        "tensorflow_free": {"checked": free, "not_in_tree": missing,
                            "violations": tensorflow_violations(graph)},
    }


def print_report(data: dict, package: str) -> None:
    where = {"module": "module level", "function": "in a function", "type-checking": "if TYPE_CHECKING"}
    m, imp = data["modules"], data["imports"]
    print(f"{package} import graph: {data['root']}")
    print(f"modules: {m['top_level']} at the top level of {package}/, {m['total']} in all")
    print(f"imports of {package}.*: {imp['total']} ({imp['module_level']} at module level, "
          f"{imp['function_level']} inside functions, {imp['type_checking']} under TYPE_CHECKING)")
    print(f"  note: {imp['note']}")
    print(f"\nimport cycles: {len(data['cycles'])} "
          f"({len(data['cycles_module_level_only'])} with module-level imports only)")
    for k, (cycle, rows) in enumerate(zip(data["cycles"], data["cycle_imports"]), 1):
        print(f"  {k}. [{', '.join(cycle)}]")
        for r in rows:
            print(f"       {r['source']} -> {r['target']}  (line {r['line']}, {where[r['scope']]})")
    print(f"\nupward imports (a library module importing a command module): {len(data['upward_imports'])}")
    for r in data["upward_imports"]:
        print(f"  {r['source']} -> {r['target']}  (line {r['line']}, {where[r['scope']]})")
    tf = data["tensorflow_free"]
    print(f"\nTensorFlow imported at module level (directly or transitively) by modules that must stay "
          f"TensorFlow-free: {len(tf['violations'])} of {len(tf['checked'])} checked")
    for name, chain in tf["violations"].items():
        print(f"  {name}: {' -> '.join(chain)}")
    if tf["not_in_tree"]:
        print(f"  (not in this tree: {', '.join(tf['not_in_tree'])})")


# ----------------------------------------------------------------------------------------------- layout


_ABBREVIATIONS = {"al", "e.g", "i.e", "etc", "vs", "cf", "fig", "eq", "approx", "resp", "no"}


def _first_sentence(text: str) -> str:
    """The first sentence of a paragraph (a period at bracket depth 0 followed by a space and not a
    lower-case word or number, and not ending an abbreviation such as "et al.")."""
    depth = 0
    for k, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == "." and depth == 0:
            after = text[k + 1:]
            if after and not after[0].isspace():
                continue
            nxt = after.lstrip()[:1]
            if nxt and (nxt.islower() or nxt.isdigit()):
                continue
            word = re.findall(r"[\w.]+$", text[:k])
            if word and word[0].lower() in _ABBREVIATIONS:
                continue
            return text[:k + 1]
    return text


def _depth_zero(text: str):
    """For each character of ``text``: whether it is outside brackets and double quotes."""
    depth, quoted, out = 0, False, []
    for ch in text:
        if ch in "([{":
            out.append(depth == 0 and not quoted)
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
            out.append(depth == 0 and not quoted)
        else:
            if ch == '"':
                quoted = not quoted
            out.append(depth == 0 and not quoted)
    return out


def _cuts(text: str, separators) -> list[int]:
    """Where ``text`` could be cut at one of ``separators`` outside brackets and quotes."""
    outside = _depth_zero(text)
    return [k for k in range(len(text)) if outside[k] and any(text.startswith(s, k) for s in separators)]


def _drop_last_aside(text: str) -> str | None:
    """``text`` without its last parenthesised aside at depth 0 (with the space before it), or None."""
    depth, start, last = 0, None, None
    for k, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = k
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0 and start:
                last = (start, k + 1)
    if last is None:
        return None
    begin = last[0] - 1 if text[last[0] - 1] == " " else last[0]
    return text[:begin] + text[last[1]:]


def describe(docstring: str | None, limit: int = DESCRIPTION_MAX) -> str:
    """A one-line description of a module from its docstring: the first sentence, with reST markup made
    Markdown-like, without its final period, and at most ``limit`` characters: if longer, cut at the last
    colon, semicolon or dash that fits, else without its parenthesised asides, else at the last comma that
    fits, else at a space outside brackets (with an ellipsis)."""
    if not docstring:
        return "(no docstring)"
    paragraph = " ".join(docstring.strip().split("\n\n")[0].split())
    text = _first_sentence(paragraph)
    text = re.sub(r":(?:func|class|data|mod|meth|attr):`~?([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`").strip().rstrip(".:;,")
    if len(text) <= limit:
        return text
    fits = [k for k in _cuts(text, (": ", "; ", " — ", " -- ")) if 30 <= k <= limit]
    if fits:
        return text[:max(fits)]
    shorter = text
    while len(shorter) > limit and (dropped := _drop_last_aside(shorter)) is not None:
        shorter = dropped
    if len(shorter) <= limit:
        return shorter.rstrip(".:;,")
    fits = [k for k in _cuts(text, (", ",)) if 30 <= k <= limit]
    if fits:
        return text[:max(fits)]
    spaces = [k for k in _cuts(text, (" ",)) if k <= limit - 2] or [limit - 2]
    return text[:max(spaces)].rstrip(".:;,") + " …"


def layout_entries(root: Path = DEFAULT_ROOT) -> list[tuple[str, str, str]]:
    """(folder, path relative to the package, description) of every module, in the layout's order."""
    modules = discover_modules(Path(root).resolve())
    rows = []
    for module in modules.values():
        folder = module.rel.rpartition("/")[0]
        doc = ast.get_docstring(ast.parse(module.path.read_text(encoding="utf-8")))
        rows.append((folder, module.rel, describe(doc)))

    def order(row):
        folder, rel, _ = row
        rank = FOLDER_ORDER.index(folder) if folder in FOLDER_ORDER else len(FOLDER_ORDER)
        return rank, folder, not rel.endswith("__init__.py"), rel

    return sorted(rows, key=order)


LAYOUT_INTRO = (
    "# Layout",
    "Generated from the modules' docstrings by `{command}`: edit a module's docstring, not this file, and "
    "rerun it. `tests/test_layout.py` checks that every module of the package is listed here and that every "
    "module listed exists.",
    "Data flows one way through the stage folders: **config -> data -> model -> fit -> run folder -> "
    "sample / evaluate / compare** (`config.py` -> `data/` -> `nets/` and `models/` -> `training/` -> "
    "`runs/` -> `evaluation/`, `uses/`, `report/`). The commands at the top level ({commands}) import the "
    "library; the library never imports a command. `cli/` is what the commands share, `reference/` the "
    "exact formulas that `verify` checks.",
    "`python benchmarks/import_graph.py` reports the import cycles (an import inside a function counts), "
    "the upward imports (library -> command) and TensorFlow reaching, through module-level imports, a module "
    "that must not import it: `config.py`, `errors.py`, `models/catalog.py`, `models/config_base.py`, "
    "`models/vae/configs.py`, `models/gan/configs.py`, `training/cluster.py`, `runs/folder.py`, "
    "`data/source_names.py`, everything in `cli/` and every `__init__.py` but `nets/`'s.",
    "Format of the block below: a line ending in `/` heads a folder; every other non-blank line is one "
    "module: its path relative to `{package}/` (the line's first word, ending in `.py`), two or more "
    "spaces, and the first sentence of its docstring (cut to about {limit} characters).",
)

LAYOUT_OUTRO = (
    "Outside the package: `configs/` (YAML run configs), `tests/`, `benchmarks/` (with `results/`), "
    "`notebooks_export/` and `docs/` (`corrections.md`: what the tutorial documents got wrong).",
)


def _paragraphs(paragraphs, **fields) -> list[str]:
    out = []
    for k, paragraph in enumerate(paragraphs):
        text = paragraph.format(**fields)
        out.append(text if text.startswith("#") else textwrap.fill(
            text, width=110, break_long_words=False, break_on_hyphens=False))
        out.append("")
    return out


def render_layout(root: Path = DEFAULT_ROOT) -> str:
    root = Path(root).resolve()
    rows = layout_entries(root)
    width = max(len(rel) for _, rel, _ in rows) + 2
    commands = ", ".join(f"`{c}`" for c in COMMANDS)
    lines = _paragraphs(LAYOUT_INTRO, command=LAYOUT_COMMAND, commands=commands, package=root.name,
                        limit=DESCRIPTION_MAX) + ["```"]
    current = None
    for folder, rel, description in rows:
        if folder != current:
            if current is not None:
                lines.append("")
            lines.append(f"{folder}/" if folder else f"{root.name}/")
            current = folder
        lines.append(f"  {rel:<{width}}{description}".rstrip())
    lines += ["```", ""] + _paragraphs(LAYOUT_OUTRO)
    return "\n".join(lines).rstrip("\n") + "\n"


def parse_layout(text: str) -> list[str]:
    """The module paths (relative to the package folder) that a layout document names: inside its fenced
    blocks, the first word of each line that ends in ``.py``."""
    paths, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        words = line.split()
        if fenced and words and words[0].endswith(".py"):
            paths.append(words[0])
    return paths


def module_paths(root: Path = DEFAULT_ROOT) -> list[str]:
    """The paths relative to the package folder of all its modules."""
    return [m.rel for m in discover_modules(Path(root).resolve()).values()]


# ------------------------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                        help=f"the package folder to read (default: {DEFAULT_ROOT})")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--write-layout", nargs="?", type=Path, const=True, default=None, metavar="PATH",
                        help="write the layout document from the docstrings (default PATH: docs/layout.md "
                             "beside the package folder) instead of reporting")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not root.is_dir():
        print(f"import_graph: no such folder: {root}", file=sys.stderr)
        return 0
    if args.write_layout is not None:
        path = root.parent / "docs" / "layout.md" if args.write_layout is True else args.write_layout
        path.parent.mkdir(parents=True, exist_ok=True)
        text = render_layout(root)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(parse_layout(text))} modules)")
        return 0
    graph = build_graph(root)
    data = report(graph)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print_report(data, graph.package)
    return 0


if __name__ == "__main__":
    sys.exit(main())
