"""Training run configuration: validated dataclasses that load from (and save to) one TOML file.

Layout of a run file (every key optional except where noted; errors name ``table.key``)::

    [train]                 # TrainConfig
    dataset = "iris"        # iris | digits | xor | mnist, or "my_data.npz" (relative to this file)
    epochs = 10
    beta = 1e-6             # siemens: nudge current = beta * (target - output)
    [network]               # memcosim.circuits.ep_network.EpNetworkConfig
    sizes = [4, 8, 3]
    [network.programming]   # pulse drivers (needed by update = "pulse")
    [pulse]                 # PulseUpdateConfig (update = "pulse"): [pulse.set], [pulse.reset]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from memcosim import fields as f
from memcosim.circuits.ep_network import EpNetworkConfig
from memcosim.config.pulse import PulseConfig, check_slot_pair
from memcosim.config.periphery import stored_ranges
from memcosim.trainers.crossbar_config import ContinualConfig, ForwardOnlyConfig, MetaConfig, SgdConfig
from memcosim.trainers.datasets import SCALES, check_dataset_name, resolve_dataset_path
from memcosim.config import renames, toml
from memcosim.devices.catalog import get_device
from memcosim.errors import ConfigError

BACKENDS = ("ngspice", "software")
UPDATES = ("ideal", "pulse")
OPTIMIZERS = ("sgd", "adam")  # how EP turns dL/dG into conductance steps
ALGORITHMS = ("ep", "sgd", "forward_only", "continual", "meta")  # ep: [network]; sgd: [sgd];
# forward_only: [forward_only]; continual: [sgd] + [continual]; meta: [sgd] + [meta]


@dataclass
class TrainConfig:
    """How to train: data, schedule, EP constants, update mode, seeds, checkpoints.

    ``beta`` (siemens): nudge current ``beta * (target - output)`` amperes into each output node.
    ``lr`` (dimensionless): with ``optimizer = "sgd"`` a cell's conductance moves by ``-lr * w^2 /
    v_input^2 * dL/dG`` siemens per batch, ``w = g_max - g_min`` (so ``lr`` is the step as a fraction of
    the window per unit of ``(dL/dG) w / v_input^2``); with ``"adam"`` (EP only) by ``-lr * w * m / (sqrt(v)
    + eps)`` (Adam's bias-corrected moment estimates of dL/dG per cell: ``lr`` is the largest step as a
    fraction of the window); times ``layer_lr[l]`` for weight layer ``l`` (empty = all 1) and
    ``lr_decay ** epoch`` (epochs counted from 0). Targets: ``target_high`` volts on the true class's output,
    ``target_low`` on the others. ``dataset``: a built-in name (iris, digits, xor, mnist) or the path of an
    ``.npz`` file (:mod:`memcosim.trainers.datasets`; ``scale``: how its features reach [0, 1]). ``backend``: ``ngspice`` (circuit in the loop) or ``software``
    (numpy, same network); ``pool``: average a built-in image dataset (digits 8x8, mnist 28x28) over
    ``pool`` x ``pool`` pixel blocks (2: mnist at 14x14; 1 = full resolution); ``update``: ``ideal`` (conductances written directly) or ``pulse``
    (programming pulses). ``seed`` drives the split, the shuffles and stochastic pulse rounding.
    """

    dataset: str = "iris"
    scale: str = "range"
    test_fraction: float = 0.2
    classes: list[int] = field(default_factory=list)
    pool: int = 1
    train_limit: int = 0
    test_limit: int = 0
    epochs: int = 10
    batch_size: int = 1
    lr: float = 0.05
    layer_lr: list[float] = field(default_factory=list)
    optimizer: str = "sgd"
    lr_decay: float = 1.0
    beta: float = 1e-6
    target_high: float = 0.05
    target_low: float = -0.05
    backend: str = "ngspice"
    update: str = "ideal"
    seed: int = 0
    checkpoint: str = ""
    progress: bool = True
    algorithm: str = "ep"

    def __post_init__(self) -> None:
        self.algorithm = f.choice("train.algorithm", self.algorithm, ALGORITHMS)
        self.dataset = check_dataset_name("train.dataset", self.dataset)
        self.scale = f.choice("train.scale", self.scale, SCALES)
        self.test_fraction = f.number("train.test_fraction", self.test_fraction, low=0.0, high=0.9, low_open=True)
        if not isinstance(self.classes, (list, tuple)):
            raise ConfigError("train.classes", f"must be a list of class labels, got {self.classes!r}")
        self.classes = [f.integer(f"train.classes[{k}]", c, 0) for k, c in enumerate(self.classes)]
        if self.classes and len(set(self.classes)) != len(self.classes):
            raise ConfigError("train.classes", f"labels must be distinct, got {self.classes}")
        self.pool = f.integer("train.pool", self.pool, 1)
        self.train_limit = f.integer("train.train_limit", self.train_limit, 0)
        self.test_limit = f.integer("train.test_limit", self.test_limit, 0)
        self.epochs = f.integer("train.epochs", self.epochs, 1)
        self.batch_size = f.integer("train.batch_size", self.batch_size, 1)
        self.lr = f.number("train.lr", self.lr, low=0.0, low_open=True)
        if not isinstance(self.layer_lr, (list, tuple)):
            raise ConfigError("train.layer_lr", f"must be a list of factors (one per weight layer), got {self.layer_lr!r}")
        self.layer_lr = [f.number(f"train.layer_lr[{k}]", v, low=0.0) for k, v in enumerate(self.layer_lr)]
        self.optimizer = f.choice("train.optimizer", self.optimizer, OPTIMIZERS)
        self.lr_decay = f.number("train.lr_decay", self.lr_decay, low=0.0, high=1.0, low_open=True)
        self.beta = f.number("train.beta", self.beta, low=0.0, low_open=True, unit="S")
        self.target_high = f.number("train.target_high", self.target_high, unit="V")
        self.target_low = f.number("train.target_low", self.target_low, unit="V")
        if not self.target_high > self.target_low:
            raise ConfigError("train.target_high", f"must be > target_low ({self.target_low} V), got {self.target_high}")
        self.backend = f.choice("train.backend", self.backend, BACKENDS)
        self.update = f.choice("train.update", self.update, UPDATES)
        if self.backend == "software" and self.update == "pulse" and self.algorithm == "ep":
            raise ConfigError("train.update", "pulse updates need the circuit: use backend = 'ngspice'")
        self.seed = f.integer("train.seed", self.seed, 0)
        if not isinstance(self.checkpoint, str):
            raise ConfigError("train.checkpoint", f"must be a file path, got {self.checkpoint!r}")
        self.progress = f.boolean("train.progress", self.progress)


PULSE_TRANSIENTS = ("layers", "network")  # PulseUpdateConfig.transient


@dataclass
class PulseUpdateConfig:
    """Pulse-mode updates: programming pulses per cell, derived from the requested conductance change.

    The requested change ``dG`` (siemens) of a cell is turned into a state change through the
    conductance law and divided by the state change of one pulse (measured in the circuit when the
    trainer starts, on ``calibration_pulses`` pulses of cell (0, 0) of layer 0); the count is rounded
    stochastically and capped at ``max_pulses``. SET pulses are ``set`` (amplitude > 0 V), RESET pulses
    ``reset`` (amplitude < 0 V), both of one width and rise (one slot length), ``gap`` seconds between
    pulses; unselected lines follow ``network.programming.scheme`` (V/2 or V/3).

    ``accumulate`` (mixed precision, Nandakumar et al. 2018): the requested changes accumulate in a
    digital copy of the conductances (what ``ideal`` updates would have made them), and each batch
    sends the pulses that move every device toward its copy (counts from the state still missing,
    rounded to the nearest pulse, capped at ``max_pulses``); a weak cell simply gets pulses over more
    batches. ``reltol`` / ``vntol`` (volts): solver tolerances of the programming transients only
    (the operating points keep the session's own, tighter ones).

    ``transient``: ``"layers"`` runs each weight layer's slots in its own transient, on the layer alone in
    its own session and worker process (:func:`memcosim.circuits.ep_network.build_programming_layer`), the
    layers at the same time; ``"network"`` runs them in one transient over the whole network switched to
    its programming drivers (the layers' slots side by side). The circuit each cell sees is the same.
    ``column_groups`` (``"layers"`` only): each layer's columns are dealt into this many groups of about
    equal slot counts, each group's slots in a session of its own (a worker process) at the same time; a
    slot leaves the other columns' cells half-selected, so a group sees the others' cells at their states
    from before the batch (their IR drops a batch late; a threshold device below its threshold does not
    move, and a half-select disturb is added up across the groups).
    """

    set: PulseConfig = field(default_factory=lambda: PulseConfig(0.6, 10e-9, 1e-9))
    reset: PulseConfig = field(default_factory=lambda: PulseConfig(-0.6, 10e-9, 1e-9))
    gap: float = 2e-9
    max_pulses: int = 8
    calibration_pulses: int = 4
    accumulate: bool = False
    reltol: float = 1e-3
    vntol: float = 1e-6
    transient: str = "layers"
    column_groups: int = 1

    def __post_init__(self) -> None:
        check_slot_pair("pulse", self.set, self.reset)
        self.gap = f.number("pulse.gap", self.gap, low=0.0, unit="s")
        self.max_pulses = f.integer("pulse.max_pulses", self.max_pulses, 1, 1000)
        self.calibration_pulses = f.integer("pulse.calibration_pulses", self.calibration_pulses, 1, 1000)
        self.accumulate = f.boolean("pulse.accumulate", self.accumulate)
        self.reltol = f.number("pulse.reltol", self.reltol, low=0.0, high=0.1, low_open=True)
        self.vntol = f.number("pulse.vntol", self.vntol, low=0.0, high=1e-3, low_open=True, unit="V")
        self.transient = f.choice("pulse.transient", self.transient, PULSE_TRANSIENTS)
        self.column_groups = f.integer("pulse.column_groups", self.column_groups, 1, 64)
        if self.column_groups > 1 and self.transient != "layers":
            raise ConfigError("pulse.column_groups", f"{self.column_groups} column groups need pulse.transient = "
                              f"\"layers\" (got {self.transient!r})")

    @property
    def period(self) -> float:
        """Seconds from the start of one pulse slot to the next: edges, width and gap."""
        return self.set.duration + self.gap


@dataclass
class RunConfig:
    """One training run: the trainer's settings, the circuit, and the pulse settings. Tables given as
    dicts are filled by the config loader (:func:`memcosim.config.toml.fill`)."""

    train: TrainConfig = field(default_factory=TrainConfig)
    network: EpNetworkConfig = field(default_factory=EpNetworkConfig)
    pulse: PulseUpdateConfig = field(default_factory=PulseUpdateConfig)
    sgd: SgdConfig | None = None  # train.algorithm = "sgd"
    forward_only: ForwardOnlyConfig | None = None  # train.algorithm = "forward_only"
    continual: ContinualConfig | None = None  # train.algorithm = "continual" (with [sgd])
    meta: MetaConfig | None = None  # train.algorithm = "meta" (with [sgd])

    def __post_init__(self) -> None:
        for name, cls in (("train", TrainConfig), ("network", EpNetworkConfig), ("pulse", PulseUpdateConfig),
                          ("sgd", SgdConfig), ("forward_only", ForwardOnlyConfig), ("continual", ContinualConfig),
                          ("meta", MetaConfig)):
            value = getattr(self, name)
            if isinstance(value, dict):
                setattr(self, name, toml.from_dict(cls, value, name))
            elif not isinstance(value, cls) and not (value is None and name in ("sgd", "forward_only", "continual", "meta")):
                raise ConfigError(name, f"must be a {cls.__name__} or a table, got {value!r}")
        if self.train.algorithm == "meta" and self.meta is None:
            self.meta = MetaConfig()
        if self.train.algorithm == "continual":
            if self.continual is None:
                self.continual = ContinualConfig()
            if self.train.epochs != self.continual.epochs:
                raise ConfigError("train.epochs", f"a task sequence of {len(self.continual.tasks)} tasks x "
                                  f"{self.continual.epochs_per_task} epochs (continual.epochs_per_task) needs "
                                  f"train.epochs = {self.continual.epochs}, got {self.train.epochs}")
        if self.train.algorithm != "ep":
            return
        if self.train.update == "pulse" and self.network.programming is None:
            raise ConfigError("network.programming", "pulse updates need programming drivers: add [network.programming]")
        if self.train.update == "pulse" and not get_device(self.network.device.model).has_state:
            raise ConfigError("network.device.model", "pulse updates need a memristor model, not 'resistor'")
        if self.train.update == "pulse" and self.network.programming.scheme not in ("V/2", "V/3"):
            raise ConfigError("network.programming.scheme", "row-parallel pulse updates need 'V/2' or 'V/3' "
                              f"(with {self.network.programming.scheme!r} the unselected cells of the row are written)")


COMMENT = "memcosim training run (memcosim train FILE)"


def run_config_from_dict(data: dict) -> RunConfig:
    """A validated :class:`RunConfig` from parsed TOML tables (old keys migrated; errors name the key)."""
    doc = toml.TomlDocument(data, {}, "<table>")
    toml.migrate(doc, renames.RUN)
    return toml.fill(RunConfig, doc.data, doc)


def run_config_from_text(text: str, path: str = "<config>") -> RunConfig:
    """A validated :class:`RunConfig` from TOML text (old keys migrated; errors name the key and line)."""
    return toml.loads(text, RunConfig, renames.RUN, path=path)


def stored_run_config(text: str, path: str = "<config>") -> RunConfig:
    """The :class:`RunConfig` a checkpoint stored (its TOML text): as :func:`run_config_from_text`, except that a
    converter range equal to its default reads as unset, as it was when checkpoints wrote every range out."""
    with stored_ranges():
        return run_config_from_text(text, path)


def load_run_config(path: str | Path) -> RunConfig:
    """Read a run TOML file; errors name the file, the offending key and its line. A relative ``.npz``
    dataset path is taken relative to the file's folder."""
    config = toml.load(path, RunConfig, renames.RUN)
    config.train.dataset = resolve_dataset_path(config.train.dataset, Path(path).parent)
    return config


def run_config_to_toml(config: RunConfig) -> str:
    """TOML text that :func:`load_run_config` reads back to an equal config (values nobody set, such as the
    converter ranges a layer sets itself, are left out: written, they would read back as set and be refused)."""
    return toml.dumps(config, COMMENT, skip=f.unset)
