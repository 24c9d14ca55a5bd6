"""The op-amp of a column TIA block, characterised in ngspice: open-loop gain, unity-gain bandwidth and
phase margin from an ``ac`` analysis, input offset from an operating point.

The TIA is simulated alone, as the block it is (built-in or a user's ``.subckt``: only its two pins
are needed): its supplies, its output loaded by the ADC's input resistance, and a current source
into its input (0 A at DC, 1 A of small signal). With the input otherwise open, the feedback
resistor carries no DC current, so the operating point puts the inverting input at the op-amp's
input offset. In the ``ac`` analysis the op-amp's own inverting input is the TIA input: the
open-loop gain is A(f) = -V(out) / V(in), loaded by the feedback resistor and the ADC, whatever the
op-amp's topology. The unity-gain bandwidth is where |A| crosses 1 and the phase margin is
180 degrees plus the phase of A there (the op-amp in unity feedback; a TIA on a column has a
feedback factor below 1 and more margin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim.circuits.netlist import Netlist
from memcosim.circuits.periphery.tia import Tia
from memcosim.circuits.periphery.user import UserTia
from memcosim.cosim.engine import open_session
from memcosim.errors import ConfigError, SimulationError

F_START, F_STOP = 1.0, 1e10  # hertz: the ac sweep
POINTS_PER_DECADE = 20


@dataclass
class TiaFigures:
    """Figures of a TIA's op-amp: DC open-loop gain ``gain_db`` (dB, at :data:`F_START`), unity-gain bandwidth
    ``ugbw`` (Hz; nan when |A| stays above 1 up to :data:`F_STOP`), ``phase_margin`` (degrees; nan
    likewise), input ``offset`` (volts at the inverting input), and the sweep: ``frequency`` (Hz),
    ``gain`` (complex open-loop gain -V(out)/V(in))."""

    gain_db: float
    ugbw: float
    phase_margin: float
    offset: float
    frequency: np.ndarray
    gain: np.ndarray

    @property
    def phase(self) -> np.ndarray:
        """Unwrapped phase of the open-loop gain (degrees, 0 at DC)."""
        return np.degrees(np.unwrap(np.angle(self.gain)))


def block_field(tia: Tia) -> str:
    """The setting that chose ``tia``: ``blocks.tia`` for a user's block, else ``periphery.tia.circuit``."""
    return "blocks.tia" if isinstance(tia, UserTia) else "periphery.tia.circuit"


def testbench(tia: Tia, r_load: float) -> Netlist:
    """The TIA alone: its definition and supplies, one instance ``XT`` on ``in`` / ``out``, the load
    ``r_load`` ohms from ``out`` to ground and the test current source ``IAC`` into ``in``."""
    net = Netlist(title=f"memcosim TIA characterisation {tia.name}")
    tia.define(net)
    tia.place(net, "T", ("in", "out"))
    net.resistor("RLOAD", "out", "0", r_load)
    net.add("IAC", ("0", "in"), "dc 0 ac 1", "current source")
    return net


def characterise_tia(tia: Tia, r_load: float = 1e9) -> TiaFigures:
    """The figures of ``tia``'s op-amp, its output loaded by ``r_load`` ohms (the ADC input).

    An operating point that does not converge is a ConfigError naming the block and the setting that
    chose it, raised before the sweep."""
    net = testbench(tia, r_load)
    with open_session(net) as s:
        try:
            dc = s.op(voltages=["in", "out"])
        except SimulationError as exc:
            raise ConfigError(block_field(tia), f"the TIA block {tia.name!r} has no DC operating point in ngspice "
                              f"({exc}); check its supplies, bias and model files (a node without a DC path, "
                              f"rails the devices cannot take), or choose periphery.tia.circuit = 'behavioural'") from None
        ac = s.ac(F_START, F_STOP, POINTS_PER_DECADE, voltages=["in", "out"])
    gain = -ac["out"] / ac["in"]
    frequency = ac.time
    magnitude = np.abs(gain)
    phase = np.degrees(np.unwrap(np.angle(gain)))
    below = np.flatnonzero(magnitude < 1.0)
    ugbw = phase_margin = float("nan")
    if below.size and below[0] > 0:
        k = below[0]
        # log-log interpolation of |A| = 1 between the two points that bracket it
        x = np.log10(frequency[k - 1:k + 1])
        y = np.log10(magnitude[k - 1:k + 1])
        ugbw = float(10 ** (x[0] + (0 - y[0]) * (x[1] - x[0]) / (y[1] - y[0])))
        phase_margin = 180.0 + float(np.interp(np.log10(ugbw), x, phase[k - 1:k + 1]))
    with np.errstate(divide="ignore"):
        gain_db = float(20 * np.log10(magnitude[0]))
    return TiaFigures(gain_db, ugbw, phase_margin, float(dc["in"]), frequency, gain)
