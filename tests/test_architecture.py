"""The package's import graph: layers point down, no cycles, no hidden imports.

Every module of the package (each ``*.py`` directly inside the folder of a package that pyproject.toml's
``[tool.setuptools]`` lists, placed by its ``package-dir``) is parsed with :mod:`ast`; nothing is
imported. The rules:

1. No import cycle among memcosim modules, counting the imports that run when a module is loaded
   (module level, class bodies, module-level ``if``/``try``; not ``if TYPE_CHECKING:`` blocks).
2. Every import of a memcosim module points to the importer's own layer or a lower one, in the
   order of :data:`LAYER_ORDER`, with each module's layer from the one table :data:`LAYERS`
   (``TYPE_CHECKING`` and function-local imports included).
3. No function-local import of a memcosim module, so that the graph rules 1 and 2 check is the
   real one. One exception, for the entry points: a module of the CLI (``memcosim.cli``) may import,
   inside the function that runs a sub-command, a memcosim module that loads one of the heavy
   libraries of :data:`LAZY_ALLOWED` when it is loaded (itself or through its own module-level
   imports; the test checks that it does). That keeps ``memcosim --help`` and the light
   sub-commands from loading torch, Dask or pandas.
4. No function-local import of anything else (standard library or third party), except the heavy
   libraries of :data:`LAZY_ALLOWED`, which may stay lazy so that light entry points (the CLI,
   netlist rendering, the worker process) do not pay for loading them; and only where that keeps
   the library off the module's load path (a module that loads torch anyway imports it at the top).
5. No import by name at run time (``__import__``, ``importlib.import_module``): it hides an edge.

Run it as a test (``pytest tests/test_architecture.py``) or as a script
(``python tests/test_architecture.py``), which prints every offence with its file and line.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "memcosim"

#: Layer names, bottom first. A module may import from its own layer or a lower one.
LAYER_ORDER = (
    "config",
    "devices",
    "circuits",
    "engine",
    "array operations",
    "programming",
    "learning",
    "studies",
    "cli",
)

#: The one table of layers: a module's layer is that of the longest entry that is the module
#: itself or one of its parent packages. ``memcosim.cosim`` holds two layers, so each of its
#: modules is listed; a module missing from the table is an offence (classify it here).
LAYERS: dict[str, str] = {
    "memcosim": "config",  # errors, fields, fileio, the package's __init__
    "memcosim.config": "config",
    "memcosim.verilog_a": "devices",  # the .va sources the device registry compiles
    "memcosim.devices": "devices",
    "memcosim.circuits": "circuits",
    "memcosim.cosim.__init__": "engine",
    "memcosim.cosim.engine": "engine",
    "memcosim.cosim.ngspice": "engine",
    "memcosim.cosim.toolchain": "engine",
    "memcosim.cosim.session": "engine",
    "memcosim.cosim.worker": "engine",
    "memcosim.cosim.cluster": "engine",
    "memcosim.cosim.readout": "array operations",
    "memcosim.cosim.conversion": "array operations",
    "memcosim.cosim.layer": "array operations",
    "memcosim.cosim.periphery_views": "array operations",
    "memcosim.cosim.device_table": "array operations",
    "memcosim.cosim.switching_table": "array operations",
    "memcosim.cosim.column_switches": "array operations",
    "memcosim.cosim.tia_characterisation": "array operations",
    "memcosim.cosim.tile_map": "array operations",
    "memcosim.cosim.tiles": "array operations",
    "memcosim.programming": "programming",
    "memcosim.trainers": "learning",
    "memcosim.hardware_aware": "learning",
    "memcosim.nn": "learning",  # torch modules on tiles: built on hardware_aware's model
    "memcosim.studies": "studies",
    "memcosim.cli": "cli",
}

#: Packages whose modules must each be listed in :data:`LAYERS` (they hold more than one layer).
LISTED_PER_MODULE = ("memcosim.cosim",)

#: Top-level names of the heavy third-party libraries that may be imported inside a function,
#: to keep them off the import path of light entry points; each costs from a few hundred
#: milliseconds to seconds to load. ``torch``: the hardware-aware models and the pulse predictor.
#: ``matplotlib``: plots. ``dask``/``distributed``/``pandas``/``pyarrow``: studies. ``tqdm``:
#: progress bars. ``sklearn``: only the datasets' loaders use it. ``PySpice``: loaded with
#: libngspice, where a failed import is reported as a toolchain error. Everything else (the
#: standard library, numpy, scipy, ...) is imported at the top of its module.
LAZY_ALLOWED = frozenset(
    {"torch", "matplotlib", "dask", "distributed", "pandas", "pyarrow", "tqdm", "sklearn", "PySpice"}
)

#: The package whose modules may import a heavy memcosim module inside a function (rule 3).
ENTRY_POINTS = "memcosim.cli"


@dataclass(frozen=True)
class Import:
    """One import statement's target, as seen in a module's source."""

    importer: str  # dotted name of the importing module
    target: str  # dotted name of the imported module (resolved to a module where possible)
    path: Path
    line: int
    local: bool  # inside a function body
    type_checking: bool  # inside ``if TYPE_CHECKING:``

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def package_dirs() -> dict[str, Path]:
    """Package name -> folder: every package of ``[tool.setuptools] packages`` (or of ``package-dir``),
    placed by the longest entry of ``[tool.setuptools.package-dir]`` that holds it."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        setuptools = tomllib.load(f)["tool"]["setuptools"]
    table = setuptools["package-dir"]
    folders: dict[str, Path] = {}
    for package in setuptools.get("packages", table):
        parts = package.split(".")
        for n in range(len(parts), 0, -1):
            base = ".".join(parts[:n])
            if base in table:
                folders[package] = ROOT.joinpath(table[base], *parts[n:])
                break
        else:
            folders[package] = ROOT.joinpath(*parts)
    return folders


def modules() -> dict[str, Path]:
    """Dotted module name -> source file, for every module of every package of pyproject.toml.

    A package's ``__init__.py`` is named by the package itself (``memcosim.cosim``).
    """
    found: dict[str, Path] = {}
    for package, folder in package_dirs().items():
        for path in sorted(folder.glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


def is_package(name: str, known: dict[str, Path]) -> bool:
    return name in known and known[name].stem == "__init__"


def layer_of(module: str, known: dict[str, Path]) -> str | None:
    """The module's layer from :data:`LAYERS`, or None when the table does not classify it."""
    key = f"{module}.__init__" if is_package(module, known) else module
    for prefix in LISTED_PER_MODULE:
        if key.startswith(prefix + "."):
            return LAYERS.get(key)
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:n]))
        if layer is not None:
            return layer
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str, path: Path, known: dict[str, Path]) -> list[Import]:
    """Every import in one module's source, with its target resolved against the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if is_package(module, known) else module.rpartition(".")[0]
    found: list[Import] = []

    def add(target: str, node: ast.AST, local: bool, type_checking: bool) -> None:
        found.append(Import(module, target, path, node.lineno, local, type_checking))

    def visit(node: ast.AST, local: bool, type_checking: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, local, type_checking)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                add(candidate if candidate in known else source, node, local, type_checking)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            local = True
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, local, True)
            for child in node.orelse:
                visit(child, local, type_checking)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, local, type_checking)

    visit(tree, False, False)
    return found


def all_imports() -> tuple[dict[str, Path], list[Import]]:
    known = modules()
    found: list[Import] = []
    for name, path in known.items():
        found.extend(imports_of(name, path, known))
    return known, list(dict.fromkeys(found))


def is_ours(target: str) -> bool:
    return target == PACKAGE or target.startswith(PACKAGE + ".")


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a self-import), each as
    one cycle through its modules, found with Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return [one_cycle(graph, component) for component in components]


def one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A closed path ``a -> b -> ... -> a`` through the first module of a strongly connected
    component (breadth-first, so the shortest such path)."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph.get(v, ())):
                if w not in members:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start] + path[::-1][1:] + [start] if v != start else [start, start]
                if w not in previous:
                    previous[w] = v
                    following.append(w)
        frontier = following
    return component


def load_time_graph(known: dict[str, Path], found: list[Import]) -> dict[str, set[str]]:
    """memcosim module -> memcosim modules it imports when loaded."""
    graph: dict[str, set[str]] = {name: set() for name in known}
    for imp in found:
        if imp.local or imp.type_checking or not is_ours(imp.target) or imp.target not in known:
            continue
        if imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
    return graph


def cycle_offences() -> list[str]:
    known, found = all_imports()
    graph = load_time_graph(known, found)
    lines: dict[tuple[str, str], str] = {}
    for imp in found:
        lines.setdefault((imp.importer, imp.target), imp.where())
    offences = []
    for cycle in find_cycles(graph):
        steps = " -> ".join(cycle)
        where = ", ".join(lines[(a, b)] for a, b in zip(cycle, cycle[1:]) if (a, b) in lines)
        offences.append(f"import cycle: {steps} ({where})")
    return offences


def layer_offences() -> list[str]:
    known, found = all_imports()
    offences = []
    for name in known:
        if layer_of(name, known) is None:
            offences.append(f"{known[name].relative_to(ROOT)}: module {name} has no layer: add it to LAYERS")
    for key in LAYERS:
        if key.removesuffix(".__init__") not in known:
            offences.append(f"tests/test_architecture.py: LAYERS names {key}, which is no module or package: remove it")
    rank = {layer: n for n, layer in enumerate(LAYER_ORDER)}
    for imp in found:
        if not is_ours(imp.target):
            continue
        if imp.target not in known:
            offences.append(f"{imp.where()}: {imp.importer} imports {imp.target}, which is not a memcosim module")
            continue
        mine, theirs = layer_of(imp.importer, known), layer_of(imp.target, known)
        if mine is None or theirs is None:
            continue
        if rank[theirs] > rank[mine]:
            offences.append(
                f"{imp.where()}: {imp.importer} ({mine}) imports {imp.target} ({theirs}), an upper layer"
            )
    return offences


def heavy_modules(known: dict[str, Path], found: list[Import]) -> dict[str, dict[str, str]]:
    """memcosim module -> {heavy library of :data:`LAZY_ALLOWED` -> how}: the heavy libraries that
    loading the module loads, directly (how = "") or through its module-level memcosim imports
    (how = the first module on the way); modules that load none are left out."""
    graph = load_time_graph(known, found)
    heavy: dict[str, dict[str, str]] = {}
    for imp in found:
        top = imp.target.split(".")[0]
        if not imp.local and not imp.type_checking and top in LAZY_ALLOWED:
            heavy.setdefault(imp.importer, {})[top] = ""
    changed = True
    while changed:
        changed = False
        for name, targets in graph.items():
            for target in sorted(targets):
                for library in heavy.get(target, {}):
                    if library not in heavy.get(name, {}):
                        heavy.setdefault(name, {})[library] = target
                        changed = True
    return heavy


def local_import_offences() -> list[str]:
    known, found = all_imports()
    heavy = heavy_modules(known, found)
    offences = []
    for imp in found:
        if not imp.local:
            continue
        if is_ours(imp.target):
            entry = imp.importer == ENTRY_POINTS or imp.importer.startswith(ENTRY_POINTS + ".")
            if entry and imp.target in heavy:
                continue
            reason = "" if not entry else f" (it loads none of {', '.join(sorted(LAZY_ALLOWED))}: import it at the top)"
            offences.append(f"{imp.where()}: {imp.importer} imports {imp.target} inside a function{reason}")
            continue
        library = imp.target.split(".")[0]
        if library not in LAZY_ALLOWED:
            offences.append(
                f"{imp.where()}: {imp.importer} imports {imp.target} inside a function "
                f"(only {', '.join(sorted(LAZY_ALLOWED))} may be imported lazily)"
            )
        elif library in heavy.get(imp.importer, {}):
            how = heavy[imp.importer][library]
            offences.append(
                f"{imp.where()}: {imp.importer} imports {imp.target} inside a function, but loading "
                f"{imp.importer} loads {library} already{f' (through {how})' if how else ''}: import it at the top"
            )
    return offences


def dynamic_import_offences() -> list[str]:
    offences = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called in ("__import__", "import_module"):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name} imports by name ({called}): use an import statement")
    return offences


def _check(offences: list[str]) -> None:
    assert not offences, f"{len(offences)} offence(s):\n" + "\n".join(offences)


def test_every_module_is_found() -> None:
    known = modules()
    assert "memcosim.cosim.session" in known and "memcosim.cli.main" in known, sorted(known)


def test_the_cycle_finder_names_each_cycle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"a"}, "b": set()}) == [["a", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    _check(cycle_offences())


def test_imports_point_down_the_layers() -> None:
    _check(layer_offences())


def test_no_function_local_imports() -> None:
    _check(local_import_offences())


def test_no_imports_by_name() -> None:
    _check(dynamic_import_offences())


def main() -> int:
    failed = 0
    for title, check in (
        ("cycles", cycle_offences),
        ("layers", layer_offences),
        ("function-local imports", local_import_offences),
        ("imports by name", dynamic_import_offences),
    ):
        offences = check()
        print(f"{title}: {len(offences)}")
        for line in offences:
            print(f"  {line}")
        failed += len(offences)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into head
        sys.exit(1)
