"""No module touches another's private names: an AST walk over the package sources, tests/ and benchmarks/.

Two rules, kept strict:

1. ``from X import _name`` (and ``import X._name``) where X is a project module (``memcosim.*``,
   ``tests.*``, ``benchmarks.*``) is refused: a name another module needs is made public.
2. An attribute access ``expr._attr`` (not a dunder) is refused unless ``expr`` is ``self``, ``cls``
   or ``super()``: inside project code only an object's own methods touch its underscore attributes.
   ``getattr``/``setattr``/``hasattr``/``delattr`` with a constant underscore name count as access too.

The only exceptions are third-party or standard-library objects whose documented API has an underscore
name; they are listed in ``ALLOWED`` below, each with the reason.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("memcosim", "tests", "benchmarks")

# (source text of the object expression, attribute): why it is allowed. Third-party / stdlib only.
ALLOWED: dict[tuple[str, str], str] = {
    ("argparse", "_SubParsersAction"): "stdlib: the type of ArgumentParser.add_subparsers(), used in annotations",
    ("os", "_exit"): "stdlib: leave a process at once without clean-up (a worker that must die mid-call)",
    # PySpice 1.5's NgSpiceShared has no public handle on the cffi library or its captured output
    ("self._shared", "_ngspice_shared"): "PySpice: the cffi handle of libngspice (cosim/ngspice.py)",
    ("self._shared", "_stdout"): "PySpice: ngspice's captured stdout lines (cosim/ngspice.py)",
    ("self._shared", "_stderr"): "PySpice: ngspice's captured stderr lines (cosim/ngspice.py)",
}
# namedtuple methods and fields: the documented public API of collections.namedtuple objects
NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}


def _source_folders() -> list[Path]:
    """The folders in pyproject's package-dir, then tests/ and benchmarks/."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        package_dir = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    folders = {ROOT / folder for folder in package_dir.values()}
    folders |= {ROOT / "tests", ROOT / "benchmarks"}
    return sorted(folders)


def _python_files() -> list[Path]:
    files: set[Path] = set()
    for folder in _source_folders():
        files |= {p for p in folder.rglob("*.py") if ".venv" not in p.parts}
    return sorted(files)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _project_module(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in PROJECT_PACKAGES


def _own_object(node: ast.expr) -> bool:
    if isinstance(node, ast.Name) and node.id in ("self", "cls"):
        return True
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super")


def _attribute_function(func: ast.expr) -> bool:
    """``getattr``/``setattr``/``hasattr``/``delattr``, plain or as a method (``monkeypatch.setattr``)."""
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return name in ("getattr", "setattr", "hasattr", "delattr")


def violations(path: Path, root: Path = ROOT) -> list[str]:
    """Every private-name violation in one source file, as 'path:line: what' (path relative to ``root``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(root)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or _project_module(node.module)):
            for alias in node.names:
                if _private(alias.name):
                    out.append(f"{rel}:{node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _project_module(alias.name) and any(_private(p) for p in alias.name.split(".")):
                    out.append(f"{rel}:{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.Attribute) and _private(node.attr) and not _own_object(node.value):
            if node.attr in NAMEDTUPLE_API or (ast.unparse(node.value), node.attr) in ALLOWED:
                continue
            out.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
        elif (isinstance(node, ast.Call) and _attribute_function(node.func) and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and _private(node.args[1].value) and not _own_object(node.args[0])):
            out.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    return out


def test_the_walk_covers_the_package() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in _python_files()}
    for expected in ("cosim/session.py", "trainers/base.py", "memcosim/cli/main.py", "tests/test_session.py"):
        assert expected in files


def test_the_rules_catch_what_they_should(tmp_path: Path) -> None:
    src = tmp_path / "sample.py"
    src.write_text(
        "from memcosim.cosim.session import _x\n"
        "from numpy import _private_ok\n"
        "obj._secret\n"
        "self._own\n"
        "cls._own\n"
        "super()._own()\n"
        "obj.__class__\n"
        "t._replace(a=1)\n"
        "getattr(obj, '_hidden')\n"
        "monkeypatch.setattr(module, '_CONSTANT', 3)\n"
    )
    found = [v.split(": ", 1)[1] for v in violations(src, tmp_path)]
    assert found == ["from memcosim.cosim.session import _x", "obj._secret", "getattr(obj, '_hidden')",
                     "monkeypatch.setattr(module, '_CONSTANT', 3)"]


def test_no_private_names_across_modules() -> None:
    found = sorted(v for p in _python_files() for v in violations(p))
    assert not found, "private names used outside their own object:\n" + "\n".join(found)
