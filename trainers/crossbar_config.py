"""Settings of the crossbar-layer trainers: ``[sgd]`` (pulse-based SGD) and ``[forward_only]`` tables of a run file.

Both describe a two-layer network of :class:`~memcosim.cosim.layer.CrossbarLayerConfig`
layers (one bias row each); volts, siemens, seconds; errors name ``sgd.<key>`` / ``forward_only.<key>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memcosim import fields as f
from memcosim.config.array import DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig, SwitchConfig, TiaConfig, refuse_range
from memcosim.config.pulse import PulseConfig, check_slot_pair
from memcosim.cosim.layer import CrossbarLayerConfig
from memcosim.errors import ConfigError

SGD_RULES = ("manhattan", "stochastic")
FORWARD_RULES = ("ff", "competitive")
FF_NEGATIVES = ("random", "hardest")
FF_GATES = ("layer", "total")


def _check_layer_fields(config, table: str) -> None:
    """Validate the crossbar-layer settings the SGD and forward-only tables share (errors name ``table.field``)."""
    config.hidden = f.integer(f"{table}.hidden", config.hidden, 1)
    config.inputs = f.integer(f"{table}.inputs", config.inputs, 0)
    for name, cls in (("device", DeviceConfig), ("wires", WireConfig), ("dac", DacConfig), ("adc", AdcConfig),
                      ("tia", TiaConfig)):
        if not isinstance(getattr(config, name), cls):
            raise ConfigError(f"{table}.{name}", f"must be a {cls.__name__}, got {getattr(config, name)!r}")
    if config.switches is not None and not isinstance(config.switches, SwitchConfig):
        raise ConfigError(f"{table}.switches", f"must be a SwitchConfig, got {config.switches!r}")
    refuse_range(config.dac, f"{table}.dac", f"the read voltage ({table}.device.v_read)")
    refuse_range(config.adc, f"{table}.adc", "each crossbar layer (the TIA output span)")
    config.w_max = f.number(f"{table}.w_max", config.w_max, low=0.0, low_open=True)
    config.adc_fill = f.number(f"{table}.adc_fill", config.adc_fill, low=0.0, high=1.0, low_open=True)
    config.gap = f.number(f"{table}.gap", config.gap, low=0.0, unit="s")
    config.scheme = f.choice(f"{table}.scheme", config.scheme, ("V/2", "V/3"))
    check_slot_pair(table, config.set, config.reset)


def layer_configs(config, n_in: int, n_out: int, seed: int, pulse: PulseConfig, first: dict, second: dict,
                  **common) -> list[CrossbarLayerConfig]:
    """The two crossbar layers of an SGD or forward-only run: ``n_in`` -> ``config.hidden`` -> ``n_out``
    signed outputs, each on one array of the run's ``device``, ``wires``, ``dac``, ``adc``, ``tia`` and column
    ``switches``, programmed with ``pulse`` under the run's ``scheme``; ``first`` / ``second`` (and ``common``)
    set the rest."""
    shared = dict(device=config.device, wires=config.wires, dac=config.dac, adc=config.adc, tia=config.tia,
                  switches=config.switches, w_max=config.w_max, adc_fill=config.adc_fill, scheme=config.scheme,
                  pulse=pulse, **common)
    return [CrossbarLayerConfig(n_in, config.hidden, seed=seed, **shared, **first),
            CrossbarLayerConfig(config.hidden + 1, n_out, seed=seed + 1, **shared, **second)]


@dataclass
class SgdConfig:
    """Pulse-based SGD on a ``inputs``-``hidden``-``outputs`` crossbar network (inputs/outputs 0 = from the dataset).

    Forward reads in ngspice (DAC -> array -> TIA -> ADC); errors and gradients in Python; hidden
    activation ``clip(h, 0, 1)``, softmax cross-entropy on the outputs. ``ideal`` updates write
    ``W - lr sum_batch x delta^T`` (lr per sample) as device states. ``pulse`` updates, the batch's
    slots in one transient (see ``trainers/sgd.py``):

    * ``manhattan``: per sample, one SET and one RESET slot: rows with ``x > x_threshold`` cross the
      columns with ``|delta| > d_threshold * max|delta|``; weight up = SET the + device and RESET the
      - device, down the reverse;
    * ``stochastic`` (Gokmen & Vlasov 2016): per sample ``bl`` slot pairs; row i fires with probability
      ``x_i``, column j with ``min(1, |delta_j| lr / (bl dw))`` (``dw`` the weight change of one
      coincidence, calibrated in the circuit); a cell moves where both fire.

    ``step_decay`` anneals the update step per epoch (epoch ``e`` counted from 0): ``ideal`` and
    ``stochastic`` use ``lr * step_decay**e``; ``manhattan`` (whose step is one device pulse) fires each
    selected column with probability ``step_decay**e`` (draws from the run's seeded RNG); 1 = constant.

    A sample whose largest output error is below ``min_error`` is not written (no slots). Pulses are
    the ``set`` / ``reset`` pulses at the selected cells (one slot length: both share width and rise),
    ``gap`` s apart, half-select ``scheme``. ``device``, ``wires``, ``dac`` (bits, output resistance),
    ``adc`` (bits), ``tia`` (``r_feedback = 0``: automatic; ``circuit``) and column ``switches`` (none by default)
    are those of both layers' arrays (see :class:`~memcosim.cosim.layer.CrossbarLayerConfig`). ``init_scale``: initial weights uniform in +-init_scale*sqrt(3/fan_in).
    """

    hidden: int = 32
    inputs: int = 0
    outputs: int = 0
    # exponential I-V and the VTEAM paper's (Kvatinsky) window: SET and RESET steps match across the
    # window (with the Biolek window, wtype=2, RESET outweighs SET at mid-window: pairs drift down, see sgd.py)
    device: DeviceConfig = field(default_factory=lambda: DeviceConfig("vteam", {"iv": 1, "wtype": 3}))
    wires: WireConfig = field(default_factory=WireConfig)
    dac: DacConfig = field(default_factory=lambda: DacConfig(bits=8, r_out=0.0))
    adc: AdcConfig = field(default_factory=lambda: AdcConfig(bits=8))
    tia: TiaConfig = field(default_factory=lambda: TiaConfig(gain=1e5, r_feedback=0.0))
    switches: SwitchConfig | None = None
    w_max: float = 1.0
    adc_fill: float = 0.25
    rule: str = "manhattan"
    lr: float = 0.05
    set: PulseConfig = field(default_factory=lambda: PulseConfig(0.57, 10e-9, 1e-9))  # volts at the selected cells
    reset: PulseConfig = field(default_factory=lambda: PulseConfig(-0.57, 10e-9, 1e-9))
    gap: float = 2e-9
    scheme: str = "V/2"
    bl: int = 10
    x_threshold: float = 0.25
    d_threshold: float = 0.3
    min_error: float = 0.02
    init_scale: float = 1.0
    calibration_pulses: int = 8
    step_decay: float = 1.0

    def __post_init__(self) -> None:
        _check_layer_fields(self, "sgd")
        self.outputs = f.integer("sgd.outputs", self.outputs, 0)
        self.rule = f.choice("sgd.rule", self.rule, SGD_RULES)
        self.lr = f.number("sgd.lr", self.lr, low=0.0, low_open=True)
        self.bl = f.integer("sgd.bl", self.bl, 1, 1000)
        self.x_threshold = f.number("sgd.x_threshold", self.x_threshold, low=0.0, high=1.0)
        self.d_threshold = f.number("sgd.d_threshold", self.d_threshold, low=0.0, high=1.0)
        self.min_error = f.number("sgd.min_error", self.min_error, low=0.0)
        self.init_scale = f.number("sgd.init_scale", self.init_scale, low=0.0)
        self.calibration_pulses = f.integer("sgd.calibration_pulses", self.calibration_pulses, 1, 1000)
        self.step_decay = f.number("sgd.step_decay", self.step_decay, low=0.0, high=1.0, low_open=True)


@dataclass
class ForwardOnlyConfig:
    """Forward-only learning with reset-only updates (after Renaudineau et al.) on a two-layer network.

    ``rule``: ``ff`` (two-pass supervised Forward-Forward: the label is embedded in the input as
    ``label_scale`` on one of ``n_classes`` extra rows, repeated ``label_repeat`` times; a positive
    pass with the true label and a negative pass with a wrong one; each layer's goodness
    ``sum(a^2)/n`` is pushed up for positives and down for negatives; prediction: the label whose
    passes give the highest goodness summed over both layers) or ``competitive`` (single pass, no
    label in the input: the hidden units and the ``units_per_class`` output units per class are
    split into one group per class; in each layer the true class's group is pushed up and the
    strongest wrong group down; prediction: the group goodness summed over both layers).

    Weights live on differential pairs initialised high (``mapping = "high"``, both devices near
    ``g_max``); every update is ONE ``reset`` pulse (above -1 V) on
    the selected cells: weight up = RESET the - device, down = RESET the + device. ``ideal`` mode
    lowers the same conductances by the calibrated step directly. ``selection``: ``stochastic`` (row i
    fires with probability x_i, column j with |dL/dh_j| / max|dL/dh|: one pulse where both fire) or
    ``threshold`` (``x_i > x_threshold`` and ``|dL/dh_j| > d_threshold * max``).
    A layer is updated for a sample only while its goodness margin (positive minus negative pass,
    or true minus strongest wrong group) is below ``margin``; with ``margin = 0``, only where the
    logistic factor of its goodness loss around ``theta`` exceeds ``min_error``. ``revive`` (0..1, 0 = off): units
    of a positive group whose output is at or below 0 (no gradient through ``clip``) get the error of an activation
    ``revive`` instead, so a unit pushed silent by negative updates can be pushed back up.

    ``ff`` only: ``negative`` is the negative pass's label: ``random`` (a seeded random wrong label; two
    passes read per training sample) or ``hardest`` (every label read, ``n_classes`` passes per training
    sample, and the wrong label with the highest summed goodness, the one the prediction would confuse,
    is the negative). ``gate``: the margin is each layer's own goodness margin (``layer``) or the margin of
    the goodness summed over both layers (``total``, the prediction's score), which then gates both layers
    alike. ``normalize``: the second layer reads the first's activations scaled to unit length (Hinton's
    layer normalisation, so it cannot read the first layer's goodness off their length) or as they are.
    ``energy_compare``:
    every ``compare_every``-th update also programs the same weight changes with SET/RESET (up: SET
    the + device with the ``set`` pulse; down: RESET the + device with ``reset``), measures the energy (every
    supply group), and restores the device states. ``device``, ``wires``, ``dac``, ``adc``, ``tia`` and column
    ``switches`` are those of both layers' arrays, as in ``[sgd]``.

    ``layer_reset`` / ``layer_set``: per-layer pulses (empty: both layers use ``reset`` / ``set``; else exactly
    two, the first array's then the second's; TOML ``[[forward_only.layer_reset]]`` tables). Each layer has its
    own drivers, so its selected cells see its own amplitude and width within a shared slot (the slot lasts the
    longest width); the rise is common (``reset.rise``) and a layer's SET and RESET widths must match.
    """

    hidden: int = 32
    inputs: int = 0
    n_classes: int = 0
    rule: str = "ff"
    device: DeviceConfig = field(default_factory=lambda: DeviceConfig("stanford_pku"))
    wires: WireConfig = field(default_factory=WireConfig)
    dac: DacConfig = field(default_factory=lambda: DacConfig(bits=8, r_out=0.0))
    # both devices of a pair start near g_max: the common-mode current fills the ADC range
    adc: AdcConfig = field(default_factory=lambda: AdcConfig(bits=12))
    tia: TiaConfig = field(default_factory=lambda: TiaConfig(gain=1e5, r_feedback=0.0))
    switches: SwitchConfig | None = None
    w_max: float = 1.0
    adc_fill: float = 1.0
    reset: PulseConfig = field(default_factory=lambda: PulseConfig(-0.83, 100e-9, 5e-9))
    set: PulseConfig = field(default_factory=lambda: PulseConfig(1.2, 100e-9, 5e-9))
    gap: float = 5e-9
    layer_reset: list[PulseConfig] = field(default_factory=list)
    layer_set: list[PulseConfig] = field(default_factory=list)
    scheme: str = "V/2"
    theta: float = 0.2
    label_scale: float = 1.0
    label_repeat: int = 1
    margin: float = 0.0
    units_per_class: int = 4
    selection: str = "stochastic"
    x_threshold: float = 0.25
    d_threshold: float = 0.3
    min_error: float = 0.1
    init_spread: float = 0.05
    revive: float = 0.0
    energy_compare: bool = True
    compare_every: int = 10
    negative: str = "random"
    gate: str = "layer"
    normalize: bool = True

    def __post_init__(self) -> None:
        _check_layer_fields(self, "forward_only")
        self.n_classes = f.integer("forward_only.n_classes", self.n_classes, 0)
        self.rule = f.choice("forward_only.rule", self.rule, FORWARD_RULES)
        if not self.reset.amplitude > -1.0:
            raise ConfigError("forward_only.reset.amplitude", f"a sub-1 V RESET pulse must be above -1 V, "
                              f"got {self.reset.amplitude}")
        self._check_layer_pulses()
        self.theta = f.number("forward_only.theta", self.theta, low=0.0, low_open=True)
        self.label_scale = f.number("forward_only.label_scale", self.label_scale, low=0.0, high=1.0, low_open=True)
        self.label_repeat = f.integer("forward_only.label_repeat", self.label_repeat, 1)
        self.margin = f.number("forward_only.margin", self.margin, low=0.0)
        self.units_per_class = f.integer("forward_only.units_per_class", self.units_per_class, 1)
        self.selection = f.choice("forward_only.selection", self.selection, ("stochastic", "threshold"))
        self.x_threshold = f.number("forward_only.x_threshold", self.x_threshold, low=0.0, high=1.0)
        self.d_threshold = f.number("forward_only.d_threshold", self.d_threshold, low=0.0, high=1.0)
        self.init_spread = f.number("forward_only.init_spread", self.init_spread, low=0.0)
        self.revive = f.number("forward_only.revive", self.revive, low=0.0, high=1.0)
        self.min_error = f.number("forward_only.min_error", self.min_error, low=0.0)
        self.energy_compare = f.boolean("forward_only.energy_compare", self.energy_compare)
        self.compare_every = f.integer("forward_only.compare_every", self.compare_every, 1)
        self.negative = f.choice("forward_only.negative", self.negative, FF_NEGATIVES)
        self.gate = f.choice("forward_only.gate", self.gate, FF_GATES)
        self.normalize = f.boolean("forward_only.normalize", self.normalize)

    def _check_layer_pulses(self) -> None:
        for name in ("layer_reset", "layer_set"):
            pulses = getattr(self, name)
            if not isinstance(pulses, (list, tuple)) or len(pulses) not in (0, 2):
                raise ConfigError(f"forward_only.{name}", f"must be empty or two pulses (first layer, second layer), "
                                  f"got {pulses!r}")
            pulses = [PulseConfig(**p) if isinstance(p, dict) else p for p in pulses]
            for k, p in enumerate(pulses):
                key = f"forward_only.{name}[{k}]"
                if not isinstance(p, PulseConfig):
                    raise ConfigError(key, f"must be a PulseConfig (amplitude, width, rise), got {p!r}")
                if p.rise != self.reset.rise:
                    raise ConfigError(f"{key}.rise", f"the layers' pulses share the slots' edges: set it to "
                                      f"forward_only.reset.rise ({self.reset.rise} s), got {p.rise}")
                if name == "layer_reset" and not -1.0 < p.amplitude < 0:
                    raise ConfigError(f"{key}.amplitude", f"a sub-1 V RESET pulse must be in (-1, 0) V, got {p.amplitude}")
                if name == "layer_set" and not p.amplitude > 0:
                    raise ConfigError(f"{key}.amplitude", f"a SET pulse must be > 0 V, got {p.amplitude}")
            setattr(self, name, list(pulses))
        for k in range(2):
            if self.reset_of(k).width != self.set_of(k).width:
                raise ConfigError(f"forward_only.layer_set[{k}].width" if self.layer_set else
                                  f"forward_only.layer_reset[{k}].width",
                                  f"layer {k}'s SET and RESET pulses share its slots: widths {self.set_of(k).width} s "
                                  f"and {self.reset_of(k).width} s differ")

    def reset_of(self, layer: int) -> PulseConfig:
        """The RESET pulse of ``layer`` (0: first array, 1: second): its ``layer_reset`` entry or ``reset``."""
        return self.layer_reset[layer] if self.layer_reset else self.reset

    def set_of(self, layer: int) -> PulseConfig:
        """The SET pulse of ``layer``: its ``layer_set`` entry or ``set``."""
        return self.layer_set[layer] if self.layer_set else self.set

    @property
    def slot_width(self) -> float:
        """Seconds at full amplitude of a slot: the longest of the layers' pulse widths."""
        return max(self.reset_of(k).width for k in range(2))


CONTINUAL_METHODS = ("naive", "joint", "replay")


@dataclass
class ContinualConfig:
    """A sequence of tasks learned one after another on the ``[sgd]`` network (pulse SGD, one output head).

    ``tasks``: the dataset's class labels of each task, in training order (disjoint, at least two tasks);
    each task is trained for ``epochs_per_task`` epochs, so ``train.epochs`` must be
    ``len(tasks) * epochs_per_task``; ``[sgd].step_decay`` restarts at every task. ``method``:

    * ``naive``: each task's epochs see only that task's training samples (forgetting is not prevented);
    * ``joint``: every epoch sees the training samples of all tasks at once (the upper bound);
    * ``replay``: each task's epochs see its own samples plus a buffer of ``replay_per_class`` training
      samples of every class of the earlier tasks (a digital memory beside the array, drawn once from
      ``train.seed``), each buffered sample repeated so an old class is seen as often per epoch as a new one.

    ``seen_classes_only``: the training softmax covers only the outputs of the classes trained so far (the
    tasks up to the current one; ``joint``: all), so outputs of classes still to come get no error and no
    pulses (their weights are not driven down before their task starts); reads and tests use every output.
    """

    tasks: list[list[int]] = field(default_factory=lambda: [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]])
    method: str = "replay"
    epochs_per_task: int = 2
    replay_per_class: int = 20
    seen_classes_only: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.tasks, (list, tuple)) or len(self.tasks) < 2:
            raise ConfigError("continual.tasks", f"must be a list of at least two tasks (lists of class labels), "
                              f"got {self.tasks!r}")
        seen: set[int] = set()
        tasks = []
        for k, task in enumerate(self.tasks):
            if not isinstance(task, (list, tuple)) or not task:
                raise ConfigError(f"continual.tasks[{k}]", f"must be a non-empty list of class labels, got {task!r}")
            labels = [f.integer(f"continual.tasks[{k}][{i}]", c, 0) for i, c in enumerate(task)]
            again = sorted(seen.intersection(labels)) or sorted({c for c in labels if labels.count(c) > 1})
            if again:
                raise ConfigError(f"continual.tasks[{k}]", f"class {again[0]} is in more than one place: tasks must "
                                  "be disjoint")
            seen.update(labels)
            tasks.append(labels)
        self.tasks = tasks
        self.method = f.choice("continual.method", self.method, CONTINUAL_METHODS)
        self.epochs_per_task = f.integer("continual.epochs_per_task", self.epochs_per_task, 1)
        self.replay_per_class = f.integer("continual.replay_per_class", self.replay_per_class, 1)
        self.seen_classes_only = f.boolean("continual.seen_classes_only", self.seen_classes_only)

    @property
    def epochs(self) -> int:
        """Epochs of the whole sequence: tasks x epochs per task."""
        return len(self.tasks) * self.epochs_per_task

    def task_of(self, epoch: int) -> int:
        """Index of the task trained in ``epoch`` (counted from 0)."""
        return min(epoch // self.epochs_per_task, len(self.tasks) - 1)


@dataclass
class MetaConfig:
    """Few-shot meta-learning on the ``[sgd]`` network: a Reptile initialization adapted on chip by pulse updates.

    A task is ``ways`` classes drawn from a class pool, in a random order (its labels 0..ways-1), with ``shots``
    support and ``queries`` query samples per class. Meta-training (torch, the crossbar network's twin) draws tasks
    from ``train_classes``; the network is evaluated on ``test_tasks`` tasks over ``test_classes`` (held out, at
    least ``ways`` of them, disjoint from ``train_classes``). Adaptation is ``updates`` pulse updates (at most 5),
    each the ``[sgd]`` rule (Manhattan) over the task's support set, in ngspice after the initialization is
    written into the devices. The conventional baseline is the network trained on ``train_classes`` with fixed
    labels for ``pretrain_epochs`` epochs (Adam, ``pretrain_lr``). Reptile (Nichol et al. 2018) starts from it
    with the output layer at 0: ``iterations`` meta-steps, each ``updates`` updates of the torch twin with the
    same rule and the step of one coincidence measured in the circuit, then the hidden layer moves ``meta_lr``
    (annealed linearly to 0) of the way to the adapted one (see ``trainers/meta.py``). ``seed``: tasks, sampling
    and initial weights.
    """

    ways: int = 5
    shots: int = 5
    queries: int = 6
    train_classes: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    test_classes: list[int] = field(default_factory=lambda: [5, 6, 7, 8, 9])
    updates: int = 5
    iterations: int = 1000
    meta_lr: float = 0.03
    pretrain_epochs: int = 30
    pretrain_lr: float = 0.01
    test_tasks: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        self.ways = f.integer("meta.ways", self.ways, 2)
        self.shots = f.integer("meta.shots", self.shots, 1)
        self.queries = f.integer("meta.queries", self.queries, 1)
        for name in ("train_classes", "test_classes"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"meta.{name}", f"must be a list of class labels, got {value!r}")
            labels = [f.integer(f"meta.{name}[{k}]", c, 0) for k, c in enumerate(value)]
            if len(set(labels)) != len(labels) or len(labels) < self.ways:
                raise ConfigError(f"meta.{name}", f"needs at least meta.ways = {self.ways} distinct classes, got {labels}")
            setattr(self, name, labels)
        both = sorted(set(self.train_classes) & set(self.test_classes))
        if both:
            raise ConfigError("meta.test_classes", f"class {both[0]} is also a training class: held-out classes must "
                              "not be meta-trained on")
        self.updates = f.integer("meta.updates", self.updates, 1, 5)
        self.iterations = f.integer("meta.iterations", self.iterations, 1)
        self.meta_lr = f.number("meta.meta_lr", self.meta_lr, low=0.0, high=1.0, low_open=True)
        self.pretrain_epochs = f.integer("meta.pretrain_epochs", self.pretrain_epochs, 1)
        self.pretrain_lr = f.number("meta.pretrain_lr", self.pretrain_lr, low=0.0, low_open=True)
        self.test_tasks = f.integer("meta.test_tasks", self.test_tasks, 1)
        self.seed = f.integer("meta.seed", self.seed, 0)
