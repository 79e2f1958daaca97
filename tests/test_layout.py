"""The package layout of issue 21: docs/layout.md names exactly the package's modules, the import graph has
no cycles and no upward imports (library -> command), and the modules that must stay TensorFlow-free do
not import it at module level, directly or through other modules. The graph is read by
benchmarks/import_graph.py (parsed, never imported), whose functions these tests reuse."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vae_gan_tf"
LAYOUT = ROOT / "docs" / "layout.md"


def _load_import_graph():
    path = ROOT / "benchmarks" / "import_graph.py"
    spec = importlib.util.spec_from_file_location("import_graph", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # NamedTuple / annotations look the module up by name
    spec.loader.exec_module(module)
    return module


ig = _load_import_graph()
GRAPH = ig.build_graph(PACKAGE)
TF_FREE, _ = ig.tensorflow_free_modules(GRAPH)


def _where(imp) -> str:
    scope = {"module": "module level", "function": "in a function", "type-checking": "under TYPE_CHECKING"}
    return f"{imp.source} -> {imp.target} (line {imp.line}, {scope[imp.scope]})"


# ----------------------------------------------------------------------------------- (a) docs/layout.md


def test_layout_names_only_existing_modules():
    listed = ig.parse_layout(LAYOUT.read_text(encoding="utf-8"))
    assert listed, "docs/layout.md lists no module (see the format at the top of the document)"
    duplicates = sorted({p for p in listed if listed.count(p) > 1})
    assert not duplicates, f"docs/layout.md lists these modules twice: {duplicates}"
    missing = sorted(p for p in listed if not (PACKAGE / p).is_file())
    assert not missing, (f"docs/layout.md names modules that do not exist: {missing}; "
                         f"rebuild it with `{ig.LAYOUT_COMMAND}`")


def test_every_module_is_in_the_layout():
    listed = set(ig.parse_layout(LAYOUT.read_text(encoding="utf-8")))
    absent = sorted(set(ig.module_paths(PACKAGE)) - listed)
    assert not absent, f"modules missing from docs/layout.md: {absent}; rebuild it with `{ig.LAYOUT_COMMAND}`"


def test_generated_layout_parses_back_to_the_modules():
    """What --write-layout writes is what the parser above reads, with short descriptions."""
    text = ig.render_layout(PACKAGE)
    assert sorted(ig.parse_layout(text)) == sorted(ig.module_paths(PACKAGE))
    assert ig.LAYOUT_COMMAND in text.split("```")[0]
    assert all(len(description) <= ig.DESCRIPTION_MAX for _, _, description in ig.layout_entries(PACKAGE))


# ---------------------------------------------------------------------------------- (b) the import graph


def test_no_import_cycles():
    cycles = ig.find_cycles(GRAPH)
    lines = []
    for cycle in cycles:
        lines.append(f"  {cycle}")
        lines += [f"      {_where(i)}" for i in ig.cycle_imports(GRAPH, cycle)]
    detail = "\n".join(lines)
    assert not cycles, f"{len(cycles)} import cycle(s) (function-level imports count):\n{detail}"


def test_no_upward_imports():
    upward = ig.upward_imports(GRAPH)
    assert not upward, ("library modules import command modules:\n"
                        + "\n".join(f"  {_where(i)}" for i in upward))


# ------------------------------------------------------------------------------- (c) TensorFlow-free


def test_tensorflow_free_modules_import_no_tensorflow():
    violations = ig.tensorflow_violations(GRAPH)
    lines = [f"  {name}: {' -> '.join(chain)}" for name, chain in violations.items()]
    assert not violations, "TensorFlow-free modules that import it at module level:\n" + "\n".join(lines)


@pytest.mark.parametrize("module", TF_FREE)
def test_importing_a_tensorflow_free_module_leaves_tensorflow_unloaded(module):
    """The same check at run time, which also catches a third-party package that imports TensorFlow."""
    code = (f"import importlib, sys; importlib.import_module({module!r}); "
            "print(' '.join(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"importing {module} loads {result.stdout.strip()}"


# ------------------------------------------------------------------------- the checker on a known package


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_import_graph_on_a_known_package(tmp_path):
    pkg = _write(tmp_path / "pkg", {
        "__init__.py": '"""The package."""\n',
        "a.py": "from pkg import b\n",  # from package import submodule -> pkg.b
        "b.py": "def f():\n    from . import a\n",  # relative, inside a function
        "c.py": "import pkg.sub.d\nx = 1\n",
        "sub/__init__.py": "import keras\n",
        "sub/d.py": "from ..c import x\n",  # from module import name -> pkg.c
        "selfie.py": "from pkg import selfie\n",
        "train.py": "from pkg import config\n",  # a command importing the library: fine
        "lib.py": "class K:\n    def g(self):\n        import pkg.train\n",  # upward, in a method
        "config.py": "from pkg.sub.d import x\n",  # runs pkg/sub/__init__ -> keras
        "errors.py": "def h():\n    import tensorflow\n",  # function level: TF-free still
        "tc.py": ("from typing import TYPE_CHECKING\n"
                  "if TYPE_CHECKING:\n    import tensorflow\n    from pkg import lib\n"),
    })
    graph = ig.build_graph(pkg)
    assert len(graph.modules) == 12 and ig.top_level_count(graph.modules) == 10
    edges = {(i.source, i.target, i.scope) for i in graph.imports}
    assert ("pkg.a", "pkg.b", "module") in edges
    assert ("pkg.b", "pkg.a", "function") in edges
    assert ("pkg.sub.d", "pkg.c", "module") in edges
    assert ("pkg.lib", "pkg.train", "function") in edges
    assert ("pkg.tc", "pkg.lib", "type-checking") in edges
    assert ig.find_cycles(graph) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.sub.d"], ["pkg.selfie"]]
    assert ig.find_cycles(graph, ("module",)) == [["pkg.c", "pkg.sub.d"], ["pkg.selfie"]]
    assert [(i.source, i.target) for i in ig.upward_imports(graph)] == [("pkg.lib", "pkg.train")]
    assert ig.tensorflow_violations(graph) == {"pkg.config": ["pkg.config", "pkg.sub.d", "pkg.sub", "keras"],
                                               "pkg.sub": ["pkg.sub", "keras"]}
    report = ig.report(graph)
    assert report["modules"] == {"top_level": 10, "total": 12}
    assert "pkg.errors" in report["tensorflow_free"]["checked"]


def test_descriptions_are_first_sentences():
    assert ig.describe("Fréchet distance (Heusel et al. 2017, §4). More text.") == \
        "Fréchet distance (Heusel et al. 2017, §4)"
    assert ig.describe("Line one\ncontinues here. Second.\n\nOther paragraph.") == "Line one continues here"
    long = "What the commands share (no TensorFlow import): " + "the arguments, " * 10 + "and checks."
    assert ig.describe(long) == "What the commands share (no TensorFlow import)"
    assert ig.describe(None) == "(no docstring)"
    assert len(ig.describe("word " * 60)) <= ig.DESCRIPTION_MAX
