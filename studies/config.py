"""Study files (``memcosim sweep STUDY.toml``): which points to simulate, validated, errors with the TOML line.

Layout (every table optional except that the study needs at least one point)::

    [study]                 # StudySettings: seed, workers, scheduler, samples, ...
    [network]               # memcosim.hardware_aware.train.TrainSettings: dataset, hidden, epochs, ...
    [defaults]              # Point fields every point starts from
    [grid]                  # Point fields as lists: the cartesian product (or [[grid]]: a union of grids)
    [[points]]              # explicit points (Point fields; the rest from [defaults])
    [plots]                 # ir_drop = [{size = 64, r_wire = 2.0}, ...]: points whose IR drop is drawn

A point's fields: ``size`` (rows = columns of one array), ``r_wire`` (ohm per wire segment),
``dac_bits``, ``adc_bits``, ``weight_bits``, ``variation`` (lognormal sigma of programmed
conductances), ``fault_rate`` (stuck devices), ``model`` (``resistor`` or a device model),
``method`` (``plain`` or ``hw_aware``), ``program`` (``ideal`` or ``write_verify``), ``replicate``
(another seed for the same settings). An unknown key or a wrong type is a ConfigError naming the
key and its line in the file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from memcosim import fields as f
from memcosim.config import toml
from memcosim.errors import ConfigError
from memcosim.fileio import read_text_file
from memcosim.hardware_aware.train import METHODS, TrainSettings

TABLES = ("study", "network", "defaults", "grid", "points", "plots")


@dataclass
class StudySettings:
    """How the study runs: ``seed`` (fault maps, variation, training), ``workers`` local Dask worker
    processes (0 = serially in this process), or ``scheduler`` (address of a running Dask scheduler,
    reached within ``connect_timeout`` seconds); ``samples`` test samples simulated per point,
    ``calibration`` training samples for the bias correction (0 = none); ``r_driver`` ohm, ``g_min`` /
    ``g_max`` siemens (window of ``resistor`` cells), ``tolerance`` / ``max_pulses`` of write-and-verify."""

    name: str = "study"
    seed: int = 0
    workers: int = 2
    scheduler: str = ""
    connect_timeout: float = 10.0
    samples: int = 200
    calibration: int = 32
    r_driver: float = 0.0
    g_min: float = 1e-6
    g_max: float = 2e-5
    tolerance: float = 0.05
    max_pulses: int = 40

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
        self.r_driver = f.number("study.r_driver", self.r_driver, low=0.0, unit="ohm")
        self.g_min = f.number("study.g_min", self.g_min, low=0.0, low_open=True, unit="S")
        self.g_max = f.number("study.g_max", self.g_max, low=0.0, low_open=True, unit="S")
        if not self.g_max > self.g_min:
            raise ConfigError("study.g_max", f"must be > g_min ({self.g_min} S), got {self.g_max}")
        self.tolerance = f.number("study.tolerance", self.tolerance, low=0.0, low_open=True, high=1.0)
        self.max_pulses = f.integer("study.max_pulses", self.max_pulses, 1)


@dataclass
class Point:
    """One simulated setting (see the module text for the fields)."""

    size: int = 64
    r_wire: float = 2.0
    dac_bits: int = 8
    adc_bits: int = 6
    weight_bits: int = 4
    variation: float = 0.0
    fault_rate: float = 0.0
    model: str = "resistor"
    method: str = "hw_aware"
    program: str = "ideal"
    replicate: int = 0

    def __post_init__(self) -> None:
        self.size = f.integer("size", self.size, 2, 1024)
        if self.size % 2:
            raise ConfigError("size", f"arrays hold differential column pairs: size must be even, got {self.size}")
        self.r_wire = f.number("r_wire", self.r_wire, low=0.0, unit="ohm")
        self.dac_bits = f.integer("dac_bits", self.dac_bits, 1, 16)
        self.adc_bits = f.integer("adc_bits", self.adc_bits, 1, 16)
        self.weight_bits = f.integer("weight_bits", self.weight_bits, 1, 12)
        self.variation = f.number("variation", self.variation, low=0.0, high=2.0)
        self.fault_rate = f.number("fault_rate", self.fault_rate, low=0.0, high=1.0)
        from memcosim.devices.presets import PRESETS

        self.model = f.choice("model", self.model, ("resistor", *sorted(PRESETS)))
        self.method = f.choice("method", self.method, METHODS)
        self.program = f.choice("program", self.program, ("ideal", "write_verify"))
        if self.program == "write_verify" and self.model == "resistor":
            raise ConfigError("program", "write_verify needs a device model: resistor cells cannot be pulsed")
        self.replicate = f.integer("replicate", self.replicate, 0)


POINT_FIELDS = tuple(fl.name for fl in fields(Point))


@dataclass
class Study:
    """A validated study: settings, network, the points in order, and the IR-drop plot selections."""

    settings: StudySettings = field(default_factory=StudySettings)
    network: TrainSettings = field(default_factory=TrainSettings)
    points: list[Point] = field(default_factory=list)
    ir_drop: list[dict] = field(default_factory=list)
    source: str = ""

    def point_key(self, point: Point) -> str:
        """A stable name of a point's result: a hash of everything that decides it."""
        blob = json.dumps({"point": asdict(point), "network": asdict(self.network),
                           "study": {k: v for k, v in asdict(self.settings).items()
                                     if k not in ("name", "workers", "scheduler", "connect_timeout")}},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def point_seed(self, point: Point) -> int:
        """The seed of a point's fault maps and variation draws (from the study seed and the point)."""
        blob = json.dumps([self.settings.seed, asdict(point)], sort_keys=True)
        return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:4], "little")

    def matches(self, point: Point, selection: dict) -> bool:
        return all(getattr(point, k) == v for k, v in selection.items())


# -- reading a study file ------------------------------------------------------------------------

def study_from_text(text: str, path: str = "<study>") -> Study:
    """A validated :class:`Study` from TOML ``text`` (``path`` names the file in errors)."""
    doc = toml.parse(text, path)
    data = doc.data
    for key in data:
        if key not in TABLES:
            raise doc.error((key,), f"unknown table or key; known: {', '.join(TABLES)}")
    settings = toml.fill(StudySettings, data.get("study", {}), doc, ("study",))
    network = toml.fill(TrainSettings, data.get("network", {}), doc, ("network",))
    defaults = toml.fill(Point, data.get("defaults", {}), doc, ("defaults",))
    base = asdict(defaults)
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
                    Point(**{**base, key: v})
                except ConfigError as exc:
                    raise doc.error(at + (key, n), exc.message) from None
            axes.append([(key, v) for v in values])
        for combo in itertools.product(*axes):
            points.append(Point(**{**base, **dict(combo)}))
    listed = data.get("points", [])
    if not isinstance(listed, list):
        raise doc.error(("points",), "must be an array of tables [[points]]")
    for n, p in enumerate(listed):
        points.append(toml.fill(Point, {**base, **p} if isinstance(p, dict) else p, doc, ("points", n)))
    if not points:
        raise ConfigError("grid", f"the study has no points: add a [grid] or [[points]] ({path})")
    unique, seen = [], set()
    for p in points:
        k = json.dumps(asdict(p), sort_keys=True)
        if k not in seen:
            seen.add(k)
            unique.append(p)
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
    return Study(settings, network, unique, ir_drop, path)


def load_study(path: str | Path) -> Study:
    """Read and validate a study file; errors name the file, the key and its line."""
    return study_from_text(read_text_file(path, "study"), str(path))
