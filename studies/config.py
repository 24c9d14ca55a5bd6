"""Study files (``memcosim sweep STUDY.toml``): which points to simulate, validated, errors with the TOML line.

Layout (every table optional except that the study needs at least one point)::

    [study]                 # StudySettings: seed, workers, scheduler, samples, ...
    [network]               # memcosim.hardware_aware.train.TrainSettings: dataset, hidden, epochs, ...
    [arrays]                # ArraySettings every point's arrays start from: [arrays.device] (window of
                            # resistor cells), [arrays.wires] (r_driver), tolerance, max_pulses, ...
    [defaults]              # point axes every point starts from
    [grid]                  # point axes as lists: the cartesian product (or [[grid]]: a union of grids)
    [[points]]              # explicit points (axes; the rest from [defaults])
    [plots]                 # ir_drop = [{size = 64, r_wire = 2.0}, ...]: points whose IR drop is drawn
    [nn]                    # NnSettings: a converted torch model study (memcosim.nn), see below

A study with an ``[nn]`` table evaluates one torch model instead of training per point: an MLP (``[network]``:
dataset, hidden widths, epochs, learning rates, seed) trained once in float and hardware-aware on the arrays of
``[defaults]`` (cached in a model file every point shares), converted per point with
:func:`memcosim.nn.convert.convert_to_circuit` onto the point's tiles, its converter ranges recalibrated on the
point's tiles and ADC bits, and read in ngspice (:mod:`memcosim.studies.nn_study`). Its points may differ only in
the circuit axes :data:`NN_AXES`.

A point's axes (:data:`AXES` says which setting of the arrays each one is): ``size`` (rows = columns
of one array), ``r_wire`` (``wires.r_row`` and ``wires.r_column``, ohm per segment), ``dac_bits``
(``dac.bits``), ``adc_bits`` (``adc.bits``), ``model`` (``device.model``: ``resistor`` or a device
model), ``program`` (``ideal`` or ``write_verify``); and the training axes ``weight_bits``,
``variation`` (lognormal sigma of programmed conductances), ``fault_rate`` (stuck devices), ``method``
(``plain`` or ``hw_aware``), ``replicate`` (another seed for the same settings). An unknown key or a
wrong type is a ConfigError naming the key and its line in the file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Callable
from pathlib import Path

from memcosim import fields as f
from memcosim.circuits import sky130
from memcosim.config import renames, toml
from memcosim.errors import ConfigError
from memcosim.fileio import read_text_file
from memcosim.limits import check_cells
from memcosim.config.array import RESISTOR, DeviceConfig
from memcosim.config.blocks import PDK_CORNERS, PDKS
from memcosim.config.periphery import AdcConfig, TiaConfig
from memcosim.hardware_aware.deploy import ArraySettings
from memcosim.hardware_aware.model import ADC_FITS
from memcosim.hardware_aware.train import METHODS, TrainSettings
from memcosim.trainers.datasets import resolve_dataset_path

TABLES = ("study", "network", "read", "nn", "arrays", "defaults", "grid", "points", "plots")
PDK_TEMPERATURES = (-55.0, 150.0)  # degrees Celsius: the temperatures a point may ask ngspice for


@dataclass
class StudySettings:
    """How the study runs: ``seed`` (fault maps, variation, training), ``workers`` local Dask worker
    processes (0 = serially in this process), or ``scheduler`` (address of a running Dask scheduler,
    reached within ``connect_timeout`` seconds); ``samples`` test samples simulated per point,
    ``calibration`` training samples for the bias correction (0 = none)."""

    name: str = "study"
    seed: int = 0
    workers: int = 2
    scheduler: str = ""
    connect_timeout: float = 10.0
    samples: int = 200
    calibration: int = 32

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", self.name):
            raise ConfigError("study.name", f"must be a plain name (letters, digits, _ . -), got {self.name!r}")
        self.seed = f.integer("study.seed", self.seed, 0)
        self.workers = f.workers("study.workers", self.workers, low=0)
        if not isinstance(self.scheduler, str):
            raise ConfigError("study.scheduler", f"must be an address string like 'tcp://host:8786', got {self.scheduler!r}")
        self.connect_timeout = f.number("study.connect_timeout", self.connect_timeout, low=0.0, low_open=True, unit="s")
        self.samples = f.integer("study.samples", self.samples, 1)
        self.calibration = f.integer("study.calibration", self.calibration, 0)


def _set_size(arrays: ArraySettings, value: object) -> ArraySettings:
    size = f.integer("size", value, 2)
    check_cells(size, size, "size")  # a tile over the array cell limit: refused with the memory it would take
    return dataclasses.replace(arrays, size=size)


def _set_model(arrays: ArraySettings, value: object) -> ArraySettings:
    # a device model's window is its preset's (0); resistor cells keep the window of [arrays.device]
    device = arrays.device if value == RESISTOR else DeviceConfig(str(value))
    return dataclasses.replace(arrays, device=dataclasses.replace(device, model=value))


# axis name in a study file -> how it sets the point's arrays (memcosim.hardware_aware.deploy.ArraySettings)
AXES: dict[str, Callable[[ArraySettings, object], ArraySettings]] = {
    "size": _set_size,
    "r_wire": lambda a, v: dataclasses.replace(a, wires=dataclasses.replace(a.wires, r_row=v, r_column=v)),
    "dac_bits": lambda a, v: dataclasses.replace(a, dac=dataclasses.replace(a.dac, bits=v)),
    "adc_bits": lambda a, v: dataclasses.replace(a, adc=dataclasses.replace(a.adc, bits=v)),
    "model": _set_model,
    "program": lambda a, v: dataclasses.replace(a, program=v),
}
# axis name -> its value read back from the arrays
AXIS_VALUES: dict[str, Callable[[ArraySettings], object]] = {
    "size": lambda a: a.size, "r_wire": lambda a: a.wires.r_row, "dac_bits": lambda a: a.dac.bits,
    "adc_bits": lambda a: a.adc.bits, "model": lambda a: a.device.model, "program": lambda a: a.program,
}


@dataclass
class ReadSettings:
    """A read study (``[read]``): instead of training a network, each point reads a known conductance
    pattern on one ``size`` x ``size`` array on the ``pdk`` (``sky130``: 1T1R cells with the sky130
    access transistor and the transistor-level column TIA at the point's ``corner``, ``temperature``
    and ``mismatch_seed``). The pattern is uniform in the ``device`` window (resistor cells, ``g_min`` ..
    ``g_max`` siemens), drawn from the study seed; the rows are driven at the device's ``v_read`` volts
    times a uniform draw in [0.25, 1] (one input vector, drawn from the study seed); each column's
    ``tia`` has feedback ``r_feedback`` ohm (the circuit is the PDK's). Energy is that of a ``t_read``
    seconds long read with these inputs, from every supply."""

    pdk: str = "sky130"
    device: DeviceConfig = field(default_factory=lambda: DeviceConfig(RESISTOR, g_min=5e-6, g_max=5e-5, v_read=0.2))
    tia: TiaConfig = field(default_factory=lambda: TiaConfig(r_feedback=10e3))
    t_read: float = 1e-6

    def __post_init__(self) -> None:
        self.pdk = f.choice("read.pdk", self.pdk, PDKS)
        if not isinstance(self.device, DeviceConfig) or not self.device.resistor:
            raise ConfigError("read.device.model", "a read study reads resistor cells: model = 'resistor'")
        d = self.device
        if not (d.g_min > 0 and d.g_max > d.g_min):
            raise ConfigError("read.device.g_min", f"needs a window 0 < g_min < g_max (siemens), got {d.g_min}, {d.g_max}")
        if not 0 < d.v_read <= 1.0:
            raise ConfigError("read.device.v_read", f"must be in (0, 1] V, got {d.v_read}")
        if not isinstance(self.tia, TiaConfig) or self.tia.automatic:
            raise ConfigError("read.tia.r_feedback", "must be > 0 ohm")
        self.t_read = f.number("read.t_read", self.t_read, low=0.0, low_open=True, high=1e-3, unit="s")


@dataclass
class NnSettings:
    """A converted torch model study (``[nn]``): ``adc_fit`` is how each point's ADC full scales are fitted
    on the network's calibration inputs, per layer and row tile (``quantile``: the ``adc_quantile`` of the
    column sums; ``mse``: the range of least squared error at the point's ADC bits, so that a sweep over
    ADC bits measures resolution, not a range set for another resolution; see
    :func:`memcosim.hardware_aware.model.fit_adc_full_scale`). ``model_file``: where the trained model is
    kept ("" = ``model.pt`` in the result folder; a file trained with other settings is trained again)."""

    adc_fit: str = "mse"
    model_file: str = ""

    def __post_init__(self) -> None:
        self.adc_fit = f.choice("nn.adc_fit", self.adc_fit, ADC_FITS)
        if not isinstance(self.model_file, str):
            raise ConfigError("nn.model_file", f"must be a file path, got {self.model_file!r}")


NN_AXES = ("size", "r_wire", "dac_bits", "adc_bits")  # the axes points of an [nn] study may differ in


@dataclass
class Point:
    """One simulated setting: the ``arrays`` it is deployed on (the study's ``[arrays]`` with the point's
    array axes applied, see :data:`AXES`) and the training axes: ``weight_bits``, ``variation``
    (lognormal sigma of programmed conductances), ``fault_rate`` (stuck devices), ``method`` (``plain`` or
    ``hw_aware``), ``replicate`` (another seed for the same settings)."""

    arrays: ArraySettings = field(default_factory=ArraySettings)
    weight_bits: int = 4
    variation: float = 0.0
    fault_rate: float = 0.0
    method: str = "hw_aware"
    replicate: int = 0
    corner: str = "tt"
    temperature: float = 27.0
    mismatch_seed: int = -1

    def __post_init__(self) -> None:
        self.corner = f.choice("corner", self.corner, PDK_CORNERS["sky130"])
        self.temperature = f.number("temperature", self.temperature, low=PDK_TEMPERATURES[0],
                                    high=PDK_TEMPERATURES[1], unit="degrees Celsius")
        self.mismatch_seed = f.integer("mismatch_seed", self.mismatch_seed, -1)
        if not isinstance(self.arrays, ArraySettings):
            raise ConfigError("arrays", f"must be an ArraySettings, got {self.arrays!r}")
        self.weight_bits = f.integer("weight_bits", self.weight_bits, 1, 12)
        self.variation = f.number("variation", self.variation, low=0.0, high=2.0)
        self.fault_rate = f.number("fault_rate", self.fault_rate, low=0.0, high=1.0)
        self.method = f.choice("method", self.method, METHODS)
        self.replicate = f.integer("replicate", self.replicate, 0)

    def axes(self) -> dict[str, object]:
        """The point as the study file writes it: every axis name and its value."""
        values = {name: get(self.arrays) for name, get in AXIS_VALUES.items()}
        values.update({name: getattr(self, name) for name in TRAINING_AXES})
        return values


CIRCUIT_AXES = ("corner", "temperature", "mismatch_seed")  # axes of a read study ([read]): the PDK devices' settings
TRAINING_AXES = ("weight_bits", "variation", "fault_rate", "method", "replicate", *CIRCUIT_AXES)
POINT_FIELDS = ("size", "r_wire", "dac_bits", "adc_bits", "weight_bits", "variation", "fault_rate", "model", "method",
                "program", "replicate", *CIRCUIT_AXES)  # the axes, in the column order of the result tables
CIRCUIT_DEFAULTS = {"corner": "tt", "temperature": 27.0, "mismatch_seed": -1}
ENERGY_GROUPS = ("row_drivers", "dac", "array", "tia", "adc")  # supply groups with a column of their own
READ_METRICS = ("read_error", "read_error_max", "energy", *(f"energy_{g}" for g in ENERGY_GROUPS), "power",
                "operating_points")
READ_MEANINGS = {
    "read_error": "mean over columns of |V_out - V_ideal| / mean |V_ideal| (V_ideal = -Rf sum_i G_ij V_i: no wires, "
                  "no access transistor, ideal TIA)",
    "read_error_max": "largest |V_out - V_ideal| over the columns divided by mean |V_ideal|",
    "energy": "joules of one read of read.t_read seconds from every supply (drivers, array, TIA rails, switches)",
    **{f"energy_{g}": f"joules of the '{g}' supply group in that read" for g in ENERGY_GROUPS},
    "power": "energy / read.t_read (watts)",
    "operating_points": "ngspice analyses of the point",
}


NN_METRICS = ("software_accuracy", "hardware_model_accuracy", "deployed_accuracy", "deployed_standard_error",
              "prediction_agreement", "samples", "arrays", "operating_points")
NN_MEANINGS = {
    "software_accuracy": "fraction of the test samples classified right by the shared trained model in float (torch)",
    "hardware_model_accuracy": "the same for the converted model in the torch hardware mode at the point's tiles and "
                               "converters (ranges recalibrated for the point; no wires, no noise): the torch reference",
    "deployed_accuracy": "fraction classified right by the model read in ngspice on the point's tiles (wires, DAC, "
                         "TIA, ADC), with the circuit bias correction when study.calibration > 0",
    "deployed_standard_error": "binomial standard error of deployed_accuracy: sqrt(p (1 - p) / samples)",
    "prediction_agreement": "fraction of the test samples where ngspice and the torch hardware mode predict the same class",
    "samples": "test samples evaluated (the first study.samples of the test split)",
    "arrays": "tiles of every layer", "operating_points": "ngspice operating points of the evaluation (and correction)",
}


def make_point(arrays: ArraySettings, values: dict) -> Point:
    """The point of axis ``values`` (axis name -> value) on top of the study's ``arrays``; a bad value is a
    ConfigError naming its axis."""
    for name in AXES:  # model before program: write_verify needs the device model set first
        if name in values:
            try:
                arrays = AXES[name](arrays, values[name])
            except ConfigError as exc:
                raise ConfigError(name, exc.message) from None
    return Point(arrays, **{k: v for k, v in values.items() if k in TRAINING_AXES})


@dataclass
class Study:
    """A validated study: settings, network, the template arrays, the points in order, and the IR-drop
    plot selections."""

    settings: StudySettings = field(default_factory=StudySettings)
    network: TrainSettings = field(default_factory=TrainSettings)
    points: list[Point] = field(default_factory=list)
    ir_drop: list[dict] = field(default_factory=list)
    source: str = ""
    arrays: ArraySettings = field(default_factory=ArraySettings)
    read: ReadSettings | None = None
    nn: NnSettings | None = None
    defaults: Point = field(default_factory=Point)  # the [defaults] point (an [nn] study trains on its arrays)
    model: bytes = b""  # an [nn] study's trained model (memcosim.studies.nn_study.trained_model), set by the run

    def point_key(self, point: Point) -> str:
        """A stable name of a point's result: a hash of everything that decides it."""
        extra = {"read": _without_adc_circuit(asdict(self.read))} if self.read is not None else {}
        if self.nn is not None:
            extra = {"nn": self.model_key()}
        blob = json.dumps({"point": _without_adc_circuit(_without_defaults(_without_pdk(asdict(point)))),
                           "network": _without_adc_circuit(asdict(self.network)),
                           **extra,
                           "study": {k: v for k, v in asdict(self.settings).items()
                                     if k not in ("name", "workers", "scheduler", "connect_timeout")}},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def model_key(self) -> str:
        """An [nn] study's trained model: a hash of what decides it (network, the [defaults] point, the fit)."""
        blob = json.dumps({"network": asdict(self.network), "defaults": _without_defaults(_without_pdk(asdict(self.defaults))),
                           "adc_fit": self.nn.adc_fit if self.nn is not None else "", "seed": self.settings.seed},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def point_seed(self, point: Point) -> int:
        """The seed of a point's fault maps and variation draws (from the study seed and the point's axes)."""
        blob = json.dumps([self.settings.seed, _without_defaults(point.axes())], sort_keys=True)
        return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:4], "little")

    def matches(self, point: Point, selection: dict) -> bool:
        axes = point.axes()
        return all(axes[k] == v for k, v in selection.items())


# the ADC's circuit settings (AdcConfig) at their behavioural defaults: left out of point keys, so that
# studies written before those settings existed keep their keys (their results resume)
_ADC_CIRCUIT = {fl.name: fl.default for fl in dataclasses.fields(AdcConfig)
                if fl.name in ("circuit", "corner", "v_dd", "t_clock", "t_start", "c_unit")}


def _without_adc_circuit(values: object) -> object:
    """``values`` (nested dicts and lists of settings) with every ADC's circuit settings left out where they
    are at their defaults."""
    if isinstance(values, list):
        return [_without_adc_circuit(v) for v in values]
    if not isinstance(values, dict):
        return values
    adc = "r_in" in values and all(k in values for k in _ADC_CIRCUIT)
    return {k: _without_adc_circuit(v) for k, v in values.items()
            if not (adc and k in _ADC_CIRCUIT and v == _ADC_CIRCUIT[k])}


def _without_pdk(values: dict) -> dict:
    """A point's settings without ``arrays.pdk`` when it is empty (behavioural arrays), so that studies written
    before that setting existed keep their keys."""
    arrays = values.get("arrays")
    if isinstance(arrays, dict) and arrays.get("pdk") == "":
        values = {**values, "arrays": {k: v for k, v in arrays.items() if k != "pdk"}}
    return values


def _without_defaults(values: dict) -> dict:
    """``values`` without the circuit axes at their defaults: the keys and seeds of points of studies
    written before those axes existed stay what they were (their results resume)."""
    return {k: v for k, v in values.items() if not (k in CIRCUIT_DEFAULTS and v == CIRCUIT_DEFAULTS[k])}


# -- reading a study file ------------------------------------------------------------------------

def study_from_text(text: str, path: str = "<study>") -> Study:
    """A validated :class:`Study` from TOML ``text`` (``path`` names the file in errors)."""
    doc = toml.parse(text, path)
    toml.migrate(doc, renames.STUDY)
    data = doc.data
    for key in data:
        if key not in TABLES:
            raise doc.error((key,), f"unknown table or key; known: {', '.join(TABLES)}")
    settings = toml.fill(StudySettings, data.get("study", {}), doc, ("study",))
    network = toml.fill(TrainSettings, data.get("network", {}), doc, ("network",))
    network.dataset = resolve_dataset_path(network.dataset, Path(path).parent)  # an .npz beside the study file
    if "nn" in data and "read" in data:
        raise doc.error(("nn",), "a study is a read study ([read]) or a torch model study ([nn]), not both")
    read = toml.fill(ReadSettings, data["read"], doc, ("read",)) if "read" in data else None
    if read is not None and "network" in data:
        raise doc.error(("network",), "a read study ([read]) trains no network: drop [network] or [read]")
    nn = toml.fill(NnSettings, data["nn"], doc, ("nn",)) if "nn" in data else None
    template = toml.fill(ArraySettings, data.get("arrays", {}), doc, ("arrays",))
    defaults = _axes(template, data.get("defaults", {}), doc, ("defaults",))
    base = defaults.axes()
    points: list[Point] = []
    grids = data.get("grid", [])
    many = isinstance(grids, list)
    grids = grids if many else [grids]
    for g_index, grid in enumerate(grids):
        at = ("grid", g_index) if many else ("grid",)
        if not isinstance(grid, dict):
            raise doc.error(at, "must be a table of lists ([grid] or [[grid]])")
        axes = []
        for key, values in grid.items():
            if key not in POINT_FIELDS:
                raise doc.error(at + (key,), f"unknown key; known keys: {', '.join(POINT_FIELDS)}")
            if not isinstance(values, list) or not values:
                raise doc.error(at + (key,), f"must be a non-empty list of values, got {values!r}")
            for n, v in enumerate(values):
                try:
                    make_point(template, {**base, key: v})
                except ConfigError as exc:
                    raise doc.error(at + (key, n), exc.message) from None
            axes.append([(key, v) for v in values])
        for combo in itertools.product(*axes):
            points.append(make_point(template, {**base, **dict(combo)}))
    listed = data.get("points", [])
    if not isinstance(listed, list):
        raise doc.error(("points",), "must be an array of tables [[points]]")
    for n, p in enumerate(listed):
        if not isinstance(p, dict):
            raise doc.error(("points", n), f"must be a table of point axes, got {p!r}")
        points.append(_axes(template, {**base, **p}, doc, ("points", n), given=p))
    if not points:
        raise ConfigError("grid", f"the study has no points: add a [grid] or [[points]] ({path})")
    unique, seen = [], set()
    for p in points:
        k = json.dumps(p.axes(), sort_keys=True)
        if k not in seen:
            seen.add(k)
            unique.append(p)
    if nn is not None:
        _check_nn_points(unique, defaults, path)
    if read is None:
        for p in unique:
            for name, default in CIRCUIT_DEFAULTS.items():
                if getattr(p, name) != default and not p.arrays.pdk:
                    raise ConfigError(name, f"{getattr(p, name)!r}: the {name} axis sets PDK devices: deploy the "
                                      f"network on PDK arrays (pdk = 'sky130' in [arrays]) or make it a read study "
                                      f"([read] instead of [network]) ({path})")
        if any(p.arrays.pdk for p in unique):
            check_pdk(unique, path, "arrays.pdk")
    else:
        check_pdk(unique, path, "read.pdk")
    plots = data.get("plots", {})
    if not isinstance(plots, dict):
        raise doc.error(("plots",), "must be a table")
    ir_drop = []
    for key, value in plots.items():
        if key != "ir_drop":
            raise doc.error(("plots", key), "unknown key; known keys: ir_drop")
        if not isinstance(value, list):
            raise doc.error(("plots", key), "must be a list of point selections ({size = 64, ...})")
        for n, sel in enumerate(value):
            if not isinstance(sel, dict):
                raise doc.error(("plots", key, n), f"must be a table of point fields, got {sel!r}")
            for k in sel:
                if k not in POINT_FIELDS:
                    raise doc.error(("plots", key, n, k), f"unknown key; known keys: {', '.join(POINT_FIELDS)}")
            ir_drop.append(dict(sel))
    if read is not None and ir_drop:
        raise doc.error(("plots", "ir_drop"), "a read study draws read error and energy per axis; ir_drop maps "
                                              "need a trained network: drop plots.ir_drop")
    if nn is not None and ir_drop:
        raise doc.error(("plots", "ir_drop"), "an [nn] study draws accuracy per tile size, wire and ADC bits; ir_drop "
                                              "maps are drawn for trained-per-point studies: drop plots.ir_drop")
    return Study(settings, network, unique, ir_drop, path, template, read, nn, defaults)


def _check_nn_points(points: list[Point], defaults: Point, path: str) -> None:
    """An [nn] study's points share one trained model: they may differ only in :data:`NN_AXES`, on behavioural
    arrays with ideal writes. ConfigError naming the axis otherwise (before any work)."""
    if defaults.arrays.pdk or any(p.arrays.pdk for p in points):
        raise ConfigError("arrays.pdk", f"an [nn] study reads behavioural tiles: drop pdk ({path})")
    for p in points:
        if p.arrays.program != "ideal":
            raise ConfigError("program", f"an [nn] study programs its tiles by ideal writes, got {p.arrays.program!r} "
                                         f"({path})")
        for name, value in p.axes().items():
            if name not in NN_AXES and value != defaults.axes()[name]:
                raise ConfigError(name, f"{value!r}: the points of an [nn] study share one trained model and may "
                                        f"differ only in {', '.join(NN_AXES)}; set {name} in [defaults] ({path})")


def check_pdk(points: list[Point], path: str, field: str = "read.pdk") -> None:
    """Before any run: the PDK package of a study on PDK arrays is installed (a ConfigError naming
    ``mismatch_seed`` when a point asks for mismatch, else ``field``)."""
    try:
        sky130.root()
    except ConfigError as exc:
        name = "mismatch_seed" if any(p.mismatch_seed >= 0 for p in points) else field
        raise ConfigError(name, f"{exc.message} ({path})") from None


def _axes(template: ArraySettings, table: object, doc: toml.TomlDocument, at: tuple, given: dict | None = None) -> Point:
    """The point of a table of axes (``[defaults]``, one ``[[points]]``); errors name the axis and its line."""
    if not isinstance(table, dict):
        raise doc.error(at, f"must be a table of point axes, got {table!r}")
    for key in table:
        if key not in POINT_FIELDS:
            raise doc.error(at + (key,), f"unknown key; known keys: {', '.join(POINT_FIELDS)}")
    try:
        return make_point(template, table)
    except ConfigError as exc:
        key = exc.field if exc.field in (given if given is not None else table) else None
        raise doc.error(at + ((key,) if key else ()), exc.message) from None


def load_study(path: str | Path) -> Study:
    """Read and validate a study file; errors name the file, the key and its line."""
    return study_from_text(read_text_file(path, "study"), str(path))
