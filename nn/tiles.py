"""The tiles of one :class:`~memcosim.nn.linear.CircuitLinear`: its conductance pairs on ``size x size`` arrays.

Tiles are laid out as in :mod:`memcosim.hardware_aware.deploy` (:func:`~memcosim.hardware_aware.deploy.plan_tiles`:
``size`` inputs and ``size / 2`` signed outputs per array, plus device on column ``2j``, minus on ``2j + 1``;
the TIA feedback of a tile maps the layer's calibrated ADC full scale of its row tile to -1 V at the ADC).
:meth:`LayerTiles.program` fixes each tile's programmed conductances (the layer's targets with the
hardware model's seeded variation); :meth:`LayerTiles.read` simulates every tile in ngspice, one tile
after the other in this process, all input vectors of the batch on a tile before the next tile, and adds
the tiles' signed ADC outputs digitally.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from memcosim.cosim.layer import CrossbarCircuit
from memcosim.hardware_aware.deploy import (ArraySettings, Tile, install_fault_maps, plan_tiles, programmed_conductances,
                                            session_options, tile_layer_config, tile_targets)
from memcosim.hardware_aware.model import HwLinear


def layer_tiles(layer: HwLinear, size: int) -> list[Tile]:
    """The tiles of ``layer`` on ``size x size`` arrays, with fault seeds drawn from the layer's ``hw.seed`` and index."""
    return plan_tiles([layer.inputs, layer.outputs], size, layer.hw.seed * 1009 + layer.layer)


def install_tile_faults(layer: HwLinear, arrays: ArraySettings) -> None:
    """Put the stuck-at maps of the layer's tiles (as the circuit draws them) into the torch layer."""
    install_fault_maps(SimpleNamespace(hw=layer.hw, layers=[layer]), layer_tiles(layer, arrays.size), arrays)


@dataclass
class TileCost:
    """Wall time (seconds) of the tiles' ngspice work and the operating points solved."""

    netlist_seconds: float = 0.0
    program_seconds: float = 0.0
    read_seconds: float = 0.0
    operating_points: int = 0
    tiles_read: int = 0
    per_tile: list[float] = field(default_factory=list)


class LayerTiles:
    """The arrays of one layer, their programmed conductances, and reads of them in ngspice."""

    def __init__(self, layer: HwLinear, arrays: ArraySettings):
        self.layer, self.arrays = layer, arrays
        self.tiles = layer_tiles(layer, arrays.size)
        self.targets: list[np.ndarray] = []
        self.cost = TileCost()

    def program(self, rng: np.random.Generator) -> None:
        """Fix every tile's programmed conductances (siemens): the layer's target pairs with seeded variation."""
        g_min, g_max, _, _ = self.arrays.window()
        pairs = self.layer.conductances()
        self.targets = [programmed_conductances(tile_targets(pairs, t, self.arrays.size, g_min), self.layer.hw.variation,
                                                rng, g_min, g_max) for t in self.tiles]

    def read(self, x_dac: np.ndarray) -> np.ndarray:
        """Signed ADC outputs (batch, outputs) in column-sum units (``v_read * (g_max - g_min)``), added over the
        row tiles, for DAC inputs ``x_dac`` (batch, inputs) in [0, 1]."""
        size = self.arrays.size
        out = np.zeros((len(x_dac), self.layer.outputs))
        for t, target in zip(self.tiles, self.targets):
            t0 = time.perf_counter()
            cfg = tile_layer_config(t, self.layer.hw, self.arrays, float(self.layer.adc_full_scale[t.row_tile]))
            circuit = CrossbarCircuit([cfg], options=session_options(), title=f"layer {self.layer.layer} tile "
                                                                                f"{t.row_tile},{t.column_tile}")
            t1 = time.perf_counter()
            with circuit:
                tl = circuit.layers[0]
                tl.write_conductances(target)
                t2 = time.perf_counter()
                xt = np.zeros((len(x_dac), size))
                xt[:, : t.inputs.stop - t.inputs.start] = x_dac[:, t.inputs]
                out[:, t.outputs] += tl.forward(xt).outputs
            t3 = time.perf_counter()
            self.cost.netlist_seconds += t1 - t0
            self.cost.program_seconds += t2 - t1
            self.cost.read_seconds += t3 - t2
            self.cost.operating_points += len(xt)
            self.cost.tiles_read += 1
        return out

    def close(self) -> None:
        """Nothing stays open between reads (each read opens and closes its tiles' sessions)."""
