"""Weight-update modes: ``ideal`` (conductances written directly) and ``pulse`` (programming pulses).

A trainer asks for a conductance change per cell (siemens); the updater realizes it and keeps
``g``, the conductances the network now has (siemens, one rows x columns array per layer).

* ``ideal``: ``g + dG`` clipped to the window, written as device states through the conductance law
  (:mod:`memcosim.circuits.devices`) with ``Session.set_states`` (resistor cells: their resistance).
* ``pulse``: the state change ``dG`` asks for (through the conductance law) over the state change of
  one pulse (calibrated in the circuit), rounded stochastically with the trainer's RNG and capped at
  ``max_pulses``; SET for ``dG > 0``, RESET for ``dG < 0``, applied as transients in the session by
  :mod:`memcosim.trainers.pulse_program`. ``g`` is then read back from the device states, so the
  device's nonlinearity and asymmetry are what the network gets.
"""

from __future__ import annotations

import numpy as np

from memcosim.errors import ConfigError
from memcosim.trainers.config import PulseConfig


class WeightUpdater:
    """Ideal updates; the base of every mode. ``circuit`` is a CircuitNetwork or None (software)."""

    mode = "ideal"

    def __init__(self, g: list[np.ndarray], window: tuple[float, float], circuit=None):
        self.g = [np.array(a, dtype=float) for a in g]
        self.window = window
        self.circuit = circuit
        self.pulses = 0  # programming pulses applied so far (pulse mode)

    def apply(self, delta: list[np.ndarray], rng: np.random.Generator) -> None:
        """Change the conductances by ``delta`` (siemens per cell), as far as the window allows."""
        lo, hi = self.window
        new = [np.clip(g + d, lo, hi) for g, d in zip(self.g, delta)]
        if self.circuit is not None:
            changed = [n != g for n, g in zip(new, self.g)]
            self.circuit.write_conductances(new, changed)
        self.g = new


class PulseUpdater(WeightUpdater):
    """Pulse updates through the circuit's programming drivers (:mod:`memcosim.trainers.pulse_program`)."""

    mode = "pulse"

    def __init__(self, g: list[np.ndarray], window: tuple[float, float], circuit, pulse: PulseConfig):
        from memcosim.trainers.pulse_program import measure_step

        super().__init__(g, window, circuit)
        self.pulse = pulse
        self.step_set, self.step_reset = measure_step(circuit, pulse, pulses=pulse.calibration_pulses)
        if self.step_set == 0 or self.step_reset == 0 or np.sign(self.step_set) == np.sign(self.step_reset):
            raise ConfigError("pulse", f"calibration: a SET pulse moved the state by {self.step_set!r} and a RESET "
                              f"pulse by {self.step_reset!r} (model units): raise v_set / lower v_reset or widen")
        self.g = circuit.conductances_from_states()

    def counts(self, delta: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        """Signed pulse count per cell (> 0 SET): the state change ``delta`` asks for over the
        calibrated state change per pulse, rounded stochastically, capped at ``max_pulses``."""
        from memcosim.circuits.devices import states_for

        c = self.circuit.config
        lo, hi = self.window
        states = self.circuit.session.states
        out = []
        for l, (g, d) in enumerate(zip(self.g, delta)):
            now = states[self.circuit.device_index[l]]
            want = states_for(c.model, np.clip(g + d, lo, hi), c.device_params)
            ds = want - now
            per = np.where(d > 0, self.step_set, self.step_reset)
            q = np.where(d != 0, ds / per, 0.0)  # >= 0 where the move is in the pulse's direction
            q = np.maximum(q, 0.0)
            n = np.floor(q) + (rng.random(q.shape) < (q - np.floor(q)))
            out.append((np.sign(d) * np.minimum(n, self.pulse.max_pulses)).astype(int))
        return out

    def apply(self, delta: list[np.ndarray], rng: np.random.Generator) -> None:
        from memcosim.trainers.pulse_program import apply_pulses

        self.pulses += apply_pulses(self.circuit, self.counts(delta, rng), self.pulse)
        self.g = self.circuit.conductances_from_states()


def make_updater(mode: str, g: list[np.ndarray], window: tuple[float, float], circuit=None,
                 pulse: PulseConfig | None = None) -> WeightUpdater:
    """The updater of ``mode`` (``ideal`` or ``pulse``)."""
    if mode == "pulse":
        return PulseUpdater(g, window, circuit, pulse or PulseConfig())
    return WeightUpdater(g, window, circuit)
