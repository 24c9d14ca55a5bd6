"""Deployment of a trained :class:`~memcosim.hardware_aware.model.HwNetwork` onto simulated crossbar arrays.

Each layer is cut into tiles that fit one ``size x size`` array (``size`` rows, ``size / 2`` signed
outputs on differential column pairs); every tile is a
:class:`~memcosim.cosim.layer.CrossbarCircuit` with all ``size`` rows (unused rows get
0 V, their cells sit at ``g_min``) and the column pairs the tile uses (unused columns of the array
are left floating, TIAs off, so they carry no current and are not simulated), with parasitic wires, row DACs, column TIAs and ADCs, built and
simulated in ngspice one tile at a time (one session per process). The trained weights are
programmed either by an ``ideal`` set (device states for the target conductances) or through the
programming path (``write_verify``: pulses and verify reads per cell, V/2 scheme). Programmed
conductances carry a seeded lognormal ``variation``; stuck-at faults come from the circuit's fault
injection (:mod:`memcosim.circuits.faults`), the same map the hardware-aware training was given.

The TIA feedback of every tile is set from the network's calibrated ADC full scale, so the circuit's
ADC codes mean what the torch model's ADC means; the digital side adds tiles, scales, adds the bias
and (optionally) the mapping-aware bias correction measured on calibration inputs in the circuit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from memcosim import fields as f
from memcosim.circuits.faults import draw_faults
from memcosim.circuits.sky130 import PdkSettings
from memcosim.config.array import RESISTOR, DeviceConfig, WireConfig
from memcosim.config.blocks import PDKS
from memcosim.config.faults import FaultConfig
from memcosim.config.periphery import AdcConfig, DacConfig, TiaConfig, refuse_range
from memcosim.cosim.layer import CrossbarCircuit, CrossbarLayerConfig
from memcosim.cosim.session import SessionOptions
from memcosim.cosim.tile_map import TileMap
from memcosim.devices.presets import PRESETS, get_preset
from memcosim.errors import ConfigError
from memcosim.hardware_aware.model import ADC_HEADROOM, HardwareConfig, HwNetwork, stuck_conductances
from memcosim.programming.write_verify import IncrementalPolicy, write_verify

PROGRAMS = ("ideal", "write_verify")


@dataclass
class ArraySettings:
    """The arrays a network is deployed on: ``size`` rows and columns; ``device`` (``resistor`` cells use
    its window ``g_min``..``g_max`` siemens; a device model its window, 0 = the preset's operating range);
    ``wires`` (ohm per row and column segment, row driver resistance); the row ``dac`` and column ``adc``
    (bits; their ranges follow the read voltage and the calibrated full scale); ``program`` (``ideal`` or
    ``write_verify`` with ``tolerance`` and ``max_pulses``; pulses start at the preset SET / RESET voltage
    and grow by ``pulse_step`` volts per pulse in the same direction, up to the preset's safe limits); the
    column ``tia``'s op-amp ``gain`` (its feedback resistance is automatic, ``r_feedback = 0``: set per tile
    from the network's calibrated ADC full scale). ``pdk`` (``sky130``; empty: behavioural arrays): the tiles are
    sky130 1T1R arrays with the transistor-level TIA (:func:`memcosim.circuits.sky130.pdk_array`, no column
    switches) at the deployment's corner, mismatch and temperature (:func:`deploy_network`)."""

    size: int = 64
    device: DeviceConfig = field(default_factory=lambda: DeviceConfig(RESISTOR, g_min=1e-6, g_max=2e-5))
    wires: WireConfig = field(default_factory=lambda: WireConfig.uniform(2.0))
    dac: DacConfig = field(default_factory=lambda: DacConfig(bits=8, r_out=0.0))
    adc: AdcConfig = field(default_factory=lambda: AdcConfig(bits=6))
    program: str = "ideal"
    tolerance: float = 0.05
    max_pulses: int = 40
    pulse_step: float = 0.05
    tia: TiaConfig = field(default_factory=lambda: TiaConfig(gain=1e5, r_feedback=0.0))
    pdk: str = ""

    def __post_init__(self) -> None:
        self.size = f.integer("size", self.size, 2)
        if self.pdk:
            self.pdk = f.choice("pdk", self.pdk, PDKS)
        if self.size % 2:
            raise ConfigError("size", f"an array holds differential column pairs: size must be even, got {self.size}")
        for name, cls in (("device", DeviceConfig), ("wires", WireConfig), ("dac", DacConfig), ("adc", AdcConfig),
                          ("tia", TiaConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(name, f"must be a {cls.__name__}, got {getattr(self, name)!r}")
        refuse_range(self.dac, "dac", "the read voltage")
        refuse_range(self.adc, "adc", "each tile's calibrated ADC full scale")
        f.choice("device.model", self.device.model, (RESISTOR, *sorted(PRESETS)))
        if self.device.resistor and not (self.device.g_min > 0 and self.device.g_max > self.device.g_min):
            raise ConfigError("device.g_min", "resistor cells need a window 0 < g_min < g_max (siemens), "
                              f"got {self.device.g_min}, {self.device.g_max}")
        self.program = f.choice("program", self.program, PROGRAMS)
        self.tolerance = f.number("tolerance", self.tolerance, low=0.0, low_open=True, high=1.0)
        self.max_pulses = f.integer("max_pulses", self.max_pulses, 1)
        self.pulse_step = f.number("pulse_step", self.pulse_step, low=0.0, unit="V")
        if not self.tia.automatic:
            raise ConfigError("tia.r_feedback", "the deployment sets each tile's feedback from the calibrated ADC "
                              f"full scale: leave it at 0 (automatic), got {self.tia.r_feedback}")
        if self.program == "write_verify" and self.device.resistor:
            raise ConfigError("program", "write_verify needs a device model: resistor cells cannot be pulsed")

    def window(self) -> tuple[float, float, float, float]:
        """(g_min, g_max) of the weights and the (stuck OFF, stuck ON) conductances, siemens."""
        d = self.device
        g_off, g_on = stuck_conductances(d)
        if d.resistor:
            return d.g_min, d.g_max, g_off, g_on
        p = get_preset(d.model)
        return d.g_min or p.g_low, d.g_max or p.g_high, g_off, g_on


@dataclass
class Tile:
    """One array of a layer: the inputs (rows) and outputs (column pairs) of the layer it holds."""

    layer: int
    row_tile: int
    column_tile: int
    inputs: slice
    outputs: slice
    seed: int


def plan_tiles(sizes: list[int], size: int, seed: int) -> list[Tile]:
    """The tiles of a network ``sizes`` on ``size x size`` arrays (the mapping of
    :class:`~memcosim.cosim.tile_map.TileMap`), each with its own fault seed."""
    tiles = []
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        for spot in TileMap(n_in, n_out, size, size).spots:
            r, c = spot.key
            digest = hashlib.sha256(f"{seed}/{k}/{r}/{c}".encode()).digest()
            tiles.append(Tile(k, r, c, spot.inputs, spot.outputs, int.from_bytes(digest[:4], "little")))
    return tiles


def tile_faults(tile: Tile, hw: HardwareConfig, arrays: ArraySettings) -> FaultConfig | None:
    """The circuit faults of a tile's array: stuck ON / OFF cells at ``hw.fault_rate`` (ON share
    ``hw.stuck_on_share``), drawn from the tile's seed."""
    if hw.fault_rate == 0:
        return None
    g_min, g_max, g_off, g_on = arrays.window()
    resistor = arrays.device.resistor
    return FaultConfig(stuck_on=hw.fault_rate * hw.stuck_on_share, stuck_off=hw.fault_rate * (1 - hw.stuck_on_share),
                       seed=tile.seed, g_on=g_on if resistor else 0.0, g_off=g_off if resistor else 0.0)


def install_fault_maps(net: HwNetwork, tiles: list[Tile], arrays: ArraySettings) -> dict[str, int]:
    """Put the tiles' drawn stuck-at maps into the torch layers (plus device = column 2j, minus = 2j+1);
    returns the number of stuck devices of each kind that hold weights."""
    counts = {"stuck_on": 0, "stuck_off": 0}
    for layer in net.layers:
        layer.stuck_on = torch.zeros(2, layer.outputs, layer.inputs, dtype=torch.bool)
        layer.stuck_off = torch.zeros_like(layer.stuck_on)
    for t in tiles:
        fc = tile_faults(t, net.hw, arrays)
        if fc is None:
            continue
        fmap = draw_faults(fc, arrays.size, 2 * (t.outputs.stop - t.outputs.start))
        layer = net.layers[t.layer]
        n_in, n_out = t.inputs.stop - t.inputs.start, t.outputs.stop - t.outputs.start
        for name in counts:
            mask = getattr(fmap, name)[:n_in, :2 * n_out]  # rows x physical columns
            pm = torch.from_numpy(np.stack([mask[:, 0::2].T, mask[:, 1::2].T]).copy())
            getattr(layer, name)[:, t.outputs, t.inputs] = pm
            counts[name] += int(pm.sum())
    return counts


def hardware_for(arrays: ArraySettings, **kw) -> HardwareConfig:
    """The torch hardware model of ``arrays``: window, converters and tile rows (the stuck conductances follow
    from the device, as :meth:`ArraySettings.window` gives them)."""
    g_min, g_max, _, _ = arrays.window()
    device = dataclasses.replace(arrays.device, g_min=g_min, g_max=g_max)
    return HardwareConfig(device=device, dac=arrays.dac, adc=arrays.adc, tile_rows=arrays.size, **kw)


def tile_layer_config(t: Tile, hw: HardwareConfig, arrays: ArraySettings, fs_sum: float) -> CrossbarLayerConfig:
    """The crossbar of tile ``t``: ``arrays.size`` rows, the tile's column pairs, its faults, and a TIA whose
    feedback maps the full-scale column sum ``fs_sum`` (units of ``v_read * (g_max - g_min)``) to -1 V at the ADC."""
    g_min, g_max, _, _ = arrays.window()
    n_out = t.outputs.stop - t.outputs.start
    cfg = CrossbarLayerConfig(arrays.size, n_out, dataclasses.replace(arrays.device, g_min=g_min, g_max=g_max),
                              arrays.wires, w_max=1.0, dac=arrays.dac, adc=arrays.adc,
                              tia=arrays.tia, scheme="V/2", faults=tile_faults(t, hw, arrays))
    cfg.tia = tia_for_full_scale(arrays, fs_sum, cfg.device.v_read)
    return cfg


def tia_for_full_scale(arrays: ArraySettings, fs_sum: float, v_read: float) -> TiaConfig:
    """The column TIA (op-amp gain of ``arrays.tia``) whose feedback resistance maps the full-scale column sum
    ``fs_sum`` (units of ``v_read * (g_max - g_min)``; ``v_read`` volts) to -1 V at the ADC, as the torch model's ADC."""
    g_min, g_max, _, _ = arrays.window()
    gain = arrays.tia.gain
    return TiaConfig(gain, (1.0 + gain) / gain / (fs_sum * (g_max - g_min) * v_read))


@dataclass
class DeployResult:
    """Scores of the evaluation inputs (samples x classes) from the circuit, and what it cost (seconds)."""

    scores: np.ndarray
    netlist_seconds: float = 0.0
    programming_seconds: float = 0.0
    simulation_seconds: float = 0.0
    operating_points: int = 0
    current_error: float = 0.0  # mean |I - I_ideal| / mean |I_ideal| over every column read (IR drop etc.)
    programming_pulses: int = 0
    unconverged_cells: int = 0
    bias_corrections: list[np.ndarray] = field(default_factory=list)


def session_options(temperature: float = 27.0):
    """ngspice in this process at ``temperature`` degrees Celsius: a study's Dask worker is already a process of
    its own (one ngspice each), and thousands of reads per point skip the worker round trip."""
    return SessionOptions(worker=False, temperature=temperature)


def programmed_conductances(g: np.ndarray, variation: float, rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """Target conductances ``g`` (siemens) as programmed: lognormal ``variation`` (sigma) from ``rng``, clipped to [lo, hi]."""
    if variation > 0:
        g = g * np.exp(rng.normal(0.0, variation, g.shape))
    return np.clip(g, lo, hi)


def tile_conductances(net: HwNetwork, t: Tile, size: int, g_min: float) -> np.ndarray:
    """Target conductances (siemens, size rows x 2 * tile outputs) of a tile's array: the layer's pairs,
    ``g_min`` on unused rows. Stuck devices are included at their stuck conductance (what the circuit reads)."""
    return tile_targets(net.layers[t.layer].conductances(), t, size, g_min)


def tile_targets(layer_pairs: np.ndarray, t: Tile, size: int, g_min: float) -> np.ndarray:
    """Target conductances (siemens, size rows x 2 * tile outputs) of tile ``t`` from a layer's conductance
    pairs ``layer_pairs`` (2, outputs, inputs): plus device on column 2j, minus on 2j+1, ``g_min`` on unused rows."""
    pairs = layer_pairs[:, t.outputs, t.inputs]  # (2, outputs, inputs)
    n_out, n_in = pairs.shape[1], pairs.shape[2]
    g = np.full((size, 2 * n_out), g_min)
    g[:n_in, 0:2 * n_out:2] = pairs[0].T
    g[:n_in, 1:2 * n_out:2] = pairs[1].T
    return g


REFERENCES = ("float", "hardware")


def deploy_network(net: HwNetwork, arrays: ArraySettings, x_eval: np.ndarray, x_calibration: np.ndarray | None = None,
                   seed: int = 0, progress=None, reference: str = "float", corner: str = "tt",
                   temperature: float = 27.0, mismatch_seed: int = -1) -> DeployResult:
    """Program ``net`` into arrays and run ``x_eval`` (samples x features, in [0, 1]) through ngspice.

    ``x_calibration``: inputs for the mapping-aware bias correction (measured in the circuit, layer by
    layer, before the next layer's inputs are formed); None = no correction. ``reference``: the output the
    correction aims at: ``float`` (the float network: for plainly trained networks) or ``hardware`` (the torch
    hardware model with the known fault map, which hardware-aware training optimized). ``seed``: tile fault maps
    (see :func:`plan_tiles`) and the programming variation. ``progress``: called with each tile done.
    ``temperature`` (degrees Celsius) is ngspice's; with ``arrays.pdk`` every tile is a sky130 array at process
    ``corner`` with the device mismatch drawn from ``mismatch_seed`` (-1: none) and the tile's position.
    """
    f.choice("reference", reference, REFERENCES)
    pdk = PdkSettings(corner, mismatch_seed) if arrays.pdk else None
    if pdk is None and (corner != "tt" or mismatch_seed >= 0):
        raise ConfigError("pdk", f"corner {corner!r} / mismatch_seed {mismatch_seed} set PDK devices: deploy on "
                          "PDK arrays (arrays.pdk = 'sky130')")
    hw = net.hw
    size = arrays.size
    g_min, g_max, g_off, g_on = arrays.window()
    n_cal = 0 if x_calibration is None else len(x_calibration)
    x = np.asarray(x_eval, dtype=np.float32) if x_calibration is None else \
        np.concatenate([np.asarray(x_calibration, dtype=np.float32), np.asarray(x_eval, dtype=np.float32)])
    tiles = plan_tiles(net.sizes, size, seed)
    rng = np.random.default_rng([seed, 17])
    res = DeployResult(np.zeros(0))
    err_num = err_den = 0.0
    net.set_hardware(True)
    h = torch.as_tensor(x)
    with torch.no_grad():
        for k, layer in enumerate(net.layers):
            x_dac = net.layer_input(k, h).numpy().astype(float)
            signed = np.zeros((len(x), layer.outputs))
            for t in (t for t in tiles if t.layer == k):
                fs_sum = float(layer.adc_full_scale[t.row_tile])  # column sum at ADC full scale
                t0 = time.perf_counter()
                cfg = tile_layer_config(t, hw, arrays, fs_sum)
                circuit = CrossbarCircuit([cfg], options=session_options(temperature),
                                          title=f"layer {k} tile {t.row_tile},{t.column_tile}", pdk=pdk,
                                          mismatch_stream=(k, t.row_tile, t.column_tile))
                res.netlist_seconds += time.perf_counter() - t0
                with circuit:
                    tl = circuit.layers[0]
                    adc = tl.crossbar.periphery.adc
                    if abs(adc.v_max - ADC_HEADROOM) > 1e-12:
                        raise ConfigError("adc", f"crossbar_layer ADC range top {adc.v_max} V differs from the torch "
                                                 f"model's {ADC_HEADROOM} V")
                    target = programmed_conductances(tile_conductances(net, t, size, g_min), hw.variation, rng, g_min, g_max)
                    t0 = time.perf_counter()
                    if arrays.program == "ideal":
                        tl.write_conductances(target)
                    else:
                        pulses, bad = _write_verify(tl, target, arrays, get_preset(arrays.device.model))
                        res.programming_pulses += pulses
                        res.unconverged_cells += bad
                    res.programming_seconds += time.perf_counter() - t0
                    xt = np.zeros((len(x), size))
                    xt[:, : t.inputs.stop - t.inputs.start] = x_dac[:, t.inputs]
                    t0 = time.perf_counter()
                    read = tl.forward(xt)
                    res.simulation_seconds += time.perf_counter() - t0
                    res.operating_points += len(xt)
                    ideal = tl.dac_voltages(read.dac_codes) @ tl.conductances()
                    err_num += float(np.abs(read.currents - ideal).sum())
                    err_den += float(np.abs(ideal).sum())
                    signed[:, t.outputs] += read.outputs
                if progress is not None:
                    progress(t)
            y = layer.digital(torch.as_tensor(signed, dtype=torch.float32), net.input_scale[k])
            if n_cal:
                xc = torch.as_tensor(x_dac[:n_cal], dtype=torch.float32)
                intended = layer(xc, None, net.input_scale[k]) if reference == "hardware" else None
                delta = layer.correct_bias(xc, y[:n_cal], net.input_scale[k], intended)
                y = y + delta
                res.bias_corrections.append(delta.numpy().copy())
            h = torch.relu(y) if k < len(net.layers) - 1 else y
    net.set_hardware(False)
    res.scores = h[n_cal:].numpy().astype(float)
    res.current_error = err_num / err_den if err_den > 0 else 0.0
    return res


def _write_verify(layer, target: np.ndarray, arrays: ArraySettings, preset) -> tuple[int, int]:
    """Program every cell of ``layer`` to ``target`` (siemens) with write-and-verify pulses; returns
    (pulses, cells that did not reach the tolerance)."""
    layer.circuit.idle_rows()
    policy = IncrementalPolicy.for_model(arrays.device.model, step=arrays.pulse_step,
                                         set_stop=preset.set_limit, reset_stop=preset.reset_limit)
    pulses = bad = 0
    for (i, j), g in np.ndenumerate(target):
        r = write_verify(layer.session, layer.crossbar, (i, j), float(np.clip(g, preset.g_min, preset.g_max)), policy,
                         tolerance=arrays.tolerance, max_pulses=arrays.max_pulses, v_read=layer.config.device.v_read)
        pulses += r.pulses
        bad += not r.converged
    layer.circuit.idle_rows()
    return pulses, bad
