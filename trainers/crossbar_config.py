"""Settings of the crossbar-layer trainers: ``[sgd]`` (pulse-based SGD) and ``[forward_only]`` tables of a run file.

Both describe a two-layer network of :class:`~memcosim.cosim.layer.CrossbarLayerConfig`
layers (one bias row each); volts, siemens, seconds; errors name ``sgd.<key>`` / ``forward_only.<key>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memcosim import fields as f
from memcosim.errors import ConfigError

SGD_RULES = ("manhattan", "stochastic")
FORWARD_RULES = ("ff", "competitive")


def _device_table(where: str, value: object) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(where, f"must be a table of numbers, got {value!r}")
    for k, v in value.items():
        f.number(f"{where}.{k}", v)
    return dict(value)


def _check_layer_fields(config, table: str) -> None:
    """Validate the crossbar-layer fields the SGD and forward-only tables share (errors name ``table.field``)."""
    config.hidden = f.integer(f"{table}.hidden", config.hidden, 1)
    config.inputs = f.integer(f"{table}.inputs", config.inputs, 0)
    if not isinstance(config.model, str):
        raise ConfigError(f"{table}.model", f"must be a device model name, got {config.model!r}")
    config.device_params = _device_table(f"{table}.device_params", config.device_params)
    config.g_min = f.number(f"{table}.g_min", config.g_min, low=0.0, unit="S")
    config.g_max = f.number(f"{table}.g_max", config.g_max, low=0.0, unit="S")
    config.w_max = f.number(f"{table}.w_max", config.w_max, low=0.0, low_open=True)
    config.r_wire = f.number(f"{table}.r_wire", config.r_wire, low=0.0, unit="ohm")
    config.dac_bits = f.integer(f"{table}.dac_bits", config.dac_bits, 1, 16)
    config.adc_bits = f.integer(f"{table}.adc_bits", config.adc_bits, 1, 16)
    config.adc_fill = f.number(f"{table}.adc_fill", config.adc_fill, low=0.0, high=1.0, low_open=True)
    config.width = f.number(f"{table}.width", config.width, low=0.0, low_open=True, unit="s")
    config.rise = f.number(f"{table}.rise", config.rise, low=0.0, low_open=True, unit="s")
    config.gap = f.number(f"{table}.gap", config.gap, low=0.0, unit="s")
    config.scheme = f.choice(f"{table}.scheme", config.scheme, ("V/2", "V/3"))


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
    ``v_set`` / ``v_reset`` volts at the selected cells, ``width`` s, ``rise`` s edges, ``gap`` s apart,
    half-select ``scheme``. ``init_scale``: initial weights uniform in +-init_scale*sqrt(3/fan_in).
    """

    hidden: int = 32
    inputs: int = 0
    outputs: int = 0
    model: str = "vteam"
    # exponential I-V and the VTEAM paper's (Kvatinsky) window: SET and RESET steps match across the
    # window (with the Biolek window, wtype=2, RESET outweighs SET at mid-window: pairs drift down, see sgd.py)
    device_params: dict[str, float] = field(default_factory=lambda: {"iv": 1, "wtype": 3})
    g_min: float = 0.0
    g_max: float = 0.0
    w_max: float = 1.0
    r_wire: float = 0.0
    dac_bits: int = 8
    adc_bits: int = 8
    adc_fill: float = 0.25
    rule: str = "manhattan"
    lr: float = 0.05
    v_set: float = 0.57  # volts at the selected cells
    v_reset: float = -0.57
    width: float = 10e-9
    rise: float = 1e-9
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
        self.v_set = f.number("sgd.v_set", self.v_set, low=0.0, low_open=True, unit="V")
        self.v_reset = f.number("sgd.v_reset", self.v_reset, unit="V")
        if not self.v_reset < 0:
            raise ConfigError("sgd.v_reset", f"must be < 0 V, got {self.v_reset}")
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
    ``g_max``); every update is ONE RESET pulse of ``v_reset`` volts (|v| < 1 V) and ``width`` s on
    the selected cells: weight up = RESET the - device, down = RESET the + device. ``ideal`` mode
    lowers the same conductances by the calibrated step directly. ``selection``: ``stochastic`` (row i
    fires with probability x_i, column j with |dL/dh_j| / max|dL/dh|: one pulse where both fire) or
    ``threshold`` (``x_i > x_threshold`` and ``|dL/dh_j| > d_threshold * max``).
    A layer is updated for a sample only while its goodness margin (positive minus negative pass,
    or true minus strongest wrong group) is below ``margin``; with ``margin = 0``, only where the
    logistic factor of its goodness loss around ``theta`` exceeds ``min_error``. ``energy_compare``:
    every ``compare_every``-th update also programs the same weight changes with SET/RESET (up: SET
    the + device at ``v_set``; down: RESET the + device at ``v_reset``), measures the driver energy,
    and restores the device states.
    """

    hidden: int = 32
    inputs: int = 0
    n_classes: int = 0
    rule: str = "ff"
    model: str = "stanford_pku"
    device_params: dict[str, float] = field(default_factory=dict)
    g_min: float = 0.0
    g_max: float = 0.0
    w_max: float = 1.0
    r_wire: float = 0.0
    dac_bits: int = 8
    adc_bits: int = 12  # both devices of a pair start near g_max: the common-mode current fills the ADC range
    adc_fill: float = 1.0
    v_reset: float = -0.83
    v_set: float = 1.2
    width: float = 100e-9
    rise: float = 5e-9
    gap: float = 5e-9
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
    energy_compare: bool = True
    compare_every: int = 10

    def __post_init__(self) -> None:
        _check_layer_fields(self, "forward_only")
        self.n_classes = f.integer("forward_only.n_classes", self.n_classes, 0)
        self.rule = f.choice("forward_only.rule", self.rule, FORWARD_RULES)
        self.v_reset = f.number("forward_only.v_reset", self.v_reset, low=-1.0, low_open=True, unit="V")
        if not self.v_reset < 0:
            raise ConfigError("forward_only.v_reset", f"a RESET pulse must be < 0 V (and above -1 V), got {self.v_reset}")
        self.v_set = f.number("forward_only.v_set", self.v_set, low=0.0, low_open=True, unit="V")
        self.theta = f.number("forward_only.theta", self.theta, low=0.0, low_open=True)
        self.label_scale = f.number("forward_only.label_scale", self.label_scale, low=0.0, high=1.0, low_open=True)
        self.label_repeat = f.integer("forward_only.label_repeat", self.label_repeat, 1)
        self.margin = f.number("forward_only.margin", self.margin, low=0.0)
        self.units_per_class = f.integer("forward_only.units_per_class", self.units_per_class, 1)
        self.selection = f.choice("forward_only.selection", self.selection, ("stochastic", "threshold"))
        self.x_threshold = f.number("forward_only.x_threshold", self.x_threshold, low=0.0, high=1.0)
        self.d_threshold = f.number("forward_only.d_threshold", self.d_threshold, low=0.0, high=1.0)
        self.init_spread = f.number("forward_only.init_spread", self.init_spread, low=0.0)
        self.min_error = f.number("forward_only.min_error", self.min_error, low=0.0)
        self.energy_compare = f.boolean("forward_only.energy_compare", self.energy_compare)
        self.compare_every = f.integer("forward_only.compare_every", self.compare_every, 1)
