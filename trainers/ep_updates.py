"""Weight-update modes: ``ideal`` (conductances written directly) and ``pulse`` (programming pulses).

A trainer asks for a conductance change per cell (siemens); the updater realizes it and keeps
``g``, the conductances the network now has (siemens, one rows x columns array per layer).

* ``ideal``: ``g + dG`` clipped to the window, written as device states through the conductance law
  (:meth:`memcosim.devices.device.Device.state_for`) with ``Session.set_states`` (resistor cells: their resistance).
* ``pulse``: the state change ``dG`` asks for (through the conductance law) over the state change of
  one pulse (calibrated in the circuit), rounded stochastically with the trainer's RNG and capped at
  ``max_pulses``; SET for ``dG > 0``, RESET for ``dG < 0``, applied as transients in the session by
  :mod:`memcosim.trainers.ep_pulse`. ``g`` is then read back from the device states, so the
  device's nonlinearity and asymmetry are what the network gets.
* ``pulse`` with ``accumulate`` (mixed precision): ``dG`` goes into a digital copy of the
  conductances (clipped to the window, as ``ideal`` would write them); the counts are the state still
  missing between each device and its copy over the state change of one pulse, rounded to the nearest
  count and capped at ``max_pulses``. Cells whose pulses are weaker than the calibrated one (IR drop
  along the lines) get more pulses over the next batches instead of losing the update. The step per
  pulse is kept per cell: measured in the array from the present states when the trainer starts
  (:func:`memcosim.trainers.ep_pulse.measure_cell_steps`), then averaged with what each batch's
  pulses did.
"""

from __future__ import annotations

import numpy as np

from memcosim.errors import ConfigError
from memcosim.trainers.config import PulseUpdateConfig
from memcosim.trainers.ep_pulse import apply_pulses, measure_cell_steps, measure_step


class WeightUpdater:
    """Ideal updates; the base of every mode. ``circuit`` is a CircuitNetwork or None (software)."""

    mode = "ideal"

    def __init__(self, g: list[np.ndarray], window: tuple[float, float], circuit=None):
        self.g = [np.array(a, dtype=float) for a in g]
        self.window = window
        self.circuit = circuit
        self.pulses = 0  # programming pulses applied so far (pulse mode)
        self.energy: dict[str, float] = {}  # joules per supply group of the pulse transients so far (pulse mode)

    def apply(self, delta: list[np.ndarray], rng: np.random.Generator) -> None:
        """Change the conductances by ``delta`` (siemens per cell), as far as the window allows."""
        lo, hi = self.window
        new = [np.clip(g + d, lo, hi) for g, d in zip(self.g, delta)]
        if self.circuit is not None:
            changed = [n != g for n, g in zip(new, self.g)]
            self.circuit.write_conductances(new, changed)
        self.g = new

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Arrays a checkpoint needs beyond the conductances (none for ideal updates)."""
        return {}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_arrays` (ConfigError naming ``checkpoint`` if missing)."""


class PulseUpdater(WeightUpdater):
    """Pulse updates through the circuit's programming drivers (:mod:`memcosim.trainers.ep_pulse`)."""

    mode = "pulse"

    def __init__(self, g: list[np.ndarray], window: tuple[float, float], circuit, pulse: PulseUpdateConfig):
        super().__init__(g, window, circuit)
        self.pulse = pulse
        self.step_set, self.step_reset = measure_step(circuit, pulse, pulses=pulse.calibration_pulses)
        if self.step_set == 0 or self.step_reset == 0 or np.sign(self.step_set) == np.sign(self.step_reset):
            raise ConfigError("pulse", f"calibration: a SET pulse moved the state by {self.step_set!r} and a RESET "
                              f"pulse by {self.step_reset!r} (model units): raise pulse.set / lower pulse.reset amplitude or widen")
        self.g = circuit.conductances_from_states()
        self.target = [a.copy() for a in self.g]  # the digital copy (pulse.accumulate)
        if pulse.accumulate:  # per-cell steps, measured in the array, refined by every batch's pulses
            cell_set, cell_reset = measure_cell_steps(circuit, pulse)
            self.cell_set = [_same_sign(a, self.step_set) for a in cell_set]
            self.cell_reset = [_same_sign(a, self.step_reset) for a in cell_reset]

    def counts(self, delta: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        """Signed pulse count per cell (> 0 SET): the state change ``delta`` asks for over the
        calibrated state change per pulse, rounded stochastically, capped at ``max_pulses``."""
        device = self.circuit.device
        lo, hi = self.window
        states = self.circuit.session.states
        out = []
        for l, (g, d) in enumerate(zip(self.g, delta)):
            now = states[self.circuit.device_index[l]]
            want = device.state_for(np.clip(g + d, lo, hi))
            ds = want - now
            per = np.where(d > 0, self.step_set, self.step_reset)
            q = np.where(d != 0, ds / per, 0.0)  # >= 0 where the move is in the pulse's direction
            q = np.maximum(q, 0.0)
            n = np.floor(q) + (rng.random(q.shape) < (q - np.floor(q)))
            out.append((np.sign(d) * np.minimum(n, self.pulse.max_pulses)).astype(int))
        return out

    def apply(self, delta: list[np.ndarray], rng: np.random.Generator) -> None:
        if not self.pulse.accumulate:
            self.pulses += apply_pulses(self.circuit, self.counts(delta, rng), self.pulse, self.energy)
            self.g = self.circuit.conductances_from_states()
            return
        counts = self.accumulated_counts(delta)
        index = self.circuit.device_index
        before = [self.circuit.session.states[idx] for idx in index]
        self.pulses += apply_pulses(self.circuit, counts, self.pulse, self.energy)
        after = [self.circuit.session.states[idx] for idx in index]
        self.g = self.circuit.conductances_from_states()
        # refine the per-cell steps: half the last estimate, half what this batch's pulses did
        for l, (n, b, a) in enumerate(zip(counts, before, after)):
            for cells, calibrated, polarity in ((self.cell_set, self.step_set, n > 0),
                                                (self.cell_reset, self.step_reset, n < 0)):
                seen = np.where(polarity, (a - b) / np.where(n == 0, 1, np.abs(n)), 0.0)
                ok = polarity & (seen * calibrated > 0)  # not cells held at a state bound
                cells[l] = _same_sign(np.where(ok, 0.5 * cells[l] + 0.5 * seen, cells[l]), calibrated)

    def accumulated_counts(self, delta: list[np.ndarray]) -> list[np.ndarray]:
        """Signed pulse count per cell (> 0 SET) toward the digital copy after adding ``delta`` (siemens)
        to it: the missing state over the calibrated step of the polarity that closes it, rounded to the
        nearest count, capped at ``max_pulses``."""
        device = self.circuit.device
        lo, hi = self.window
        states = self.circuit.session.states
        self.target = [np.clip(t + d, lo, hi) for t, d in zip(self.target, delta)]
        out = []
        for l, t in enumerate(self.target):
            ds = device.state_for(t) - states[self.circuit.device_index[l]]
            q_set, q_reset = ds / self.cell_set[l], ds / self.cell_reset[l]  # one of them >= 0 per cell
            n = np.minimum(np.rint(np.maximum(q_set, q_reset)), self.pulse.max_pulses)
            out.append(np.where(q_set > 0, n, -n).astype(int))
        return out

    def state_arrays(self) -> dict[str, np.ndarray]:
        if not self.pulse.accumulate:
            return {}
        arrays = {f"target{l}": t.copy() for l, t in enumerate(self.target)}
        arrays.update({f"step_set{l}": a.copy() for l, a in enumerate(self.cell_set)})
        arrays.update({f"step_reset{l}": a.copy() for l, a in enumerate(self.cell_reset)})
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        if not self.pulse.accumulate:
            return
        loaded = {}
        for key in ("target", "step_set", "step_reset"):
            loaded[key] = []
            for l, cur in enumerate(self.target):
                a = arrays.get(f"{key}{l}")
                if a is None or a.shape != cur.shape or not np.all(np.isfinite(a)):
                    raise ConfigError("checkpoint", f"layer {l}: {key}{l} (pulse.accumulate: the digital copy of the "
                                      "conductances and the per-cell steps) is missing or of the wrong shape")
                loaded[key].append(np.array(a, dtype=float))
        self.target, self.cell_set, self.cell_reset = loaded["target"], loaded["step_set"], loaded["step_reset"]


def _same_sign(steps: np.ndarray, calibrated: float) -> np.ndarray:
    """Per-cell steps with the calibrated step's sign, at least a twentieth of its size (cells that hardly
    moved would otherwise ask for countless pulses)."""
    floor = 0.05 * abs(calibrated)
    return np.sign(calibrated) * np.maximum(np.where(steps * calibrated > 0, np.abs(steps), floor), floor)


def make_updater(mode: str, g: list[np.ndarray], window: tuple[float, float], circuit=None,
                 pulse: PulseUpdateConfig | None = None) -> WeightUpdater:
    """The updater of ``mode`` (``ideal`` or ``pulse``)."""
    if mode == "pulse":
        return PulseUpdater(g, window, circuit, pulse or PulseUpdateConfig())
    return WeightUpdater(g, window, circuit)
