"""docs/corrections.md cannot drift from the code (issue 14, case 18): every code and test pointer resolves.

A pointer is a backticked ``path.py::Name[.member]``, ``module.Name[.member]`` (a module of vae_gan_tf),
``Class.member`` (a class of vae_gan_tf), a config key ``section.key`` or a repository path. ``Name.member``
must be defined in that class's own body in that file: a method cited in a file that only inherits it fails.
No TensorFlow import: the code is read with ``ast``.
"""

import ast
import dataclasses
import functools
import re
from pathlib import Path

import pytest

from vae_gan_tf.config import SECTIONS
from vae_gan_tf.models.catalog import MODEL_CONFIGS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "vae_gan_tf"
RECORD = ROOT / "docs" / "corrections.md"
SECTION_CLASSES = {"data": [SECTIONS["data"]], "train": [SECTIONS["train"]], "model": list(MODEL_CONFIGS.values())}
CONFIG_KEYS = {(section, f.name) for section, classes in SECTION_CLASSES.items()
               for cls in classes for f in dataclasses.fields(cls)}


@functools.lru_cache(maxsize=None)
def definitions(path: Path) -> dict:
    """{top-level name: set of the names defined in its body (for a class) or empty}."""
    tree = ast.parse(path.read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            found[node.name] |= {t.id for n in node.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                                 for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                                 if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    found[target.id] = set()
    return found


MODULES = {p.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", "."): definitions(p)
           for p in PACKAGE.rglob("*.py")}
CLASSES = {name for defs in MODULES.values() for name, members in defs.items() if name[:1].isupper()}


def resolves_in(module_defs: dict, names: list[str]) -> bool:
    if not names:
        return True
    if names[0] not in module_defs:
        return False
    return len(names) == 1 or (len(names) == 2 and names[1] in module_defs[names[0]])


def problem(pointer: str) -> str | None:
    """Why ``pointer`` does not resolve, or None if it does (or is not a pointer into this repository)."""
    pointer = re.split(r"[\s(\[:]", pointer.strip().replace("::", "\0"), maxsplit=1)[0].replace("\0", "::")
    pointer = pointer.rstrip(",.")
    if "::" in pointer:
        file, _, name = pointer.partition("::")
        path = next((p for p in (PACKAGE / file, ROOT / file) if p.is_file()), None)
        if path is None:
            return f"no file {file}"
        return None if resolves_in(definitions(path), name.split(".")) else f"{file} does not define {name}"
    if "/" in pointer or re.search(r"\.(py|yaml|json|txt|md)$", pointer):
        return None if any(list(base.glob(pointer)) for base in (ROOT, PACKAGE)) else f"no file {pointer}"
    parts = pointer.split(".")
    if len(parts) == 2 and parts[0] in ("data", "model", "train") and not parts[1][:1].isupper():
        return None if tuple(parts) in CONFIG_KEYS else f"no config key {pointer}"
    for split in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:split])
        if module in MODULES:
            return None if resolves_in(MODULES[module], parts[split:]) else f"{module} does not define " \
                                                                             f"{'.'.join(parts[split:])}"
    if len(parts) == 2 and parts[0] in CLASSES:
        owners = [m for m, defs in MODULES.items() if parts[1] in defs.get(parts[0], set())]
        return None if owners else f"class {parts[0]} does not define {parts[1]} itself"
    return None  # Keras, TensorFlow or document code: not a pointer into this repository


def pointers() -> list[tuple[str, str]]:
    """(row id, pointer) for every backticked item in the "corrected in the library" and "test" columns."""
    found = []
    for line in RECORD.read_text().splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 7 and re.fullmatch(r"\d{3}-\d+", cells[0]):
            found += [(cells[0], item) for cell in cells[5:] for item in re.findall(r"`([^`]+)`", cell)]
    return found


def test_the_record_has_pointers():
    assert len(pointers()) > 200


def test_every_code_and_test_pointer_resolves():
    broken = [f"{row}: {pointer} ({why})" for row, pointer in pointers() if (why := problem(pointer))]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("pointer, fragment", [
    ("nets/__init__.py::encoder_decoder", "does not define"),
    ("models/vae/autoencoder.py::Autoencoder.train_step", "does not define"),
    ("tests/models/vae/test_vae_and_autoencoder.py::test_no_such_test", "does not define"),
    ("models.losses.no_such_loss", "does not define"),
    ("model.no_such_key", "no config key"),
])
def test_a_stale_pointer_is_caught(pointer, fragment):
    assert fragment in (problem(pointer) or "")
