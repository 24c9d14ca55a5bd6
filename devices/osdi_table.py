"""The parameter table of a compiled OSDI model: names, kinds and default values, as the model computes them.

Read with the ``osdi-py`` package, which loads an OSDI shared library into Python. The defaults are
the compiled model's own (Verilog-A scale factors and expressions evaluated by the model), so they
are what ngspice uses when a netlist does not set a parameter.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import osdi_py

from memcosim.errors import ModelError

_KELVIN = 300.15  # K, device temperature handed to the model's setup (defaults do not depend on it)


@dataclass(frozen=True)
class OsdiParameter:
    """One parameter of a compiled model: its name, default (a float for real and integer parameters,
    None for strings) and whether it is an instance parameter."""

    name: str
    default: float | None
    instance: bool


@dataclass(frozen=True)
class OsdiTable:
    """A compiled model's Verilog-A module name, terminals and parameters (declaration order)."""

    module: str
    terminals: tuple[str, ...]
    parameters: tuple[OsdiParameter, ...]


def read_table(osdi: Path) -> OsdiTable:
    """The parameter table of the compiled model ``osdi`` (the library's first module).

    The library is loaded from a private copy, so this process's ngspice, which may load the same
    file, shares no library state with it.
    """
    with tempfile.TemporaryDirectory(prefix="memcosim-osdi-") as tmp:
        copy = Path(tmp) / Path(osdi).name
        shutil.copyfile(osdi, copy)
        try:
            lib = osdi_py.OsdiLibrary(os.fspath(copy))
            meta = lib.get_params()
            model = lib.create_model()
            model.process_params()
            instance = model.create_instance()
            instance.process_params(_KELVIN, lib.num_terminals)
            values = {d["name"]: d["value"] for d in instance.dump_all_params()}
        except Exception as exc:  # osdi-py reports a failed model setup as RuntimeError or ValueError
            raise ModelError(f"cannot read the parameter table of the compiled model {osdi}: {exc}") from exc
        params = []
        for d in meta:
            name = d["name"]
            if name.startswith("$"):  # $mfactor: the simulator's multiplier, not a model parameter
                continue
            value = values.get(name)
            params.append(OsdiParameter(name, None if d["type"] == "str" or value is None else float(value),
                                        bool(d["is_instance"])))
        return OsdiTable(lib.name, tuple(lib.get_terminals()), tuple(params))
