"""The tiles of one :class:`~memcosim.nn.linear.CircuitLinear`: its conductance pairs on a
:class:`~memcosim.cosim.tiles.TiledLayer` (the project's one tile mechanism).

The layer's matrix (inputs x outputs) is cut as :class:`~memcosim.cosim.tile_map.TileMap` says: input ``i`` on
row tile ``i // size``, output ``j`` on column tile ``j // (size / 2)``, its plus device on physical column
``2 (j % (size / 2))`` and its minus device on the next one; rows and pairs the matrix does not fill hold
``g_min``. Every tile's TIA feedback maps its row tile's calibrated ADC full scale (a column sum, units of
``v_read * (g_max - g_min)``; ``HwLinear.adc_full_scale[row_tile]``) to -1 V at the ADC, so the circuit's ADC
codes mean what the torch model's ADC codes mean, tile by tile. :meth:`LayerTiles.program` writes each tile's conductances (the layer's targets with the hardware
model's seeded variation; ideal writes, all tiles in parallel); :meth:`LayerTiles.read` sends every tile its
whole batch in one call and adds the tiles' signed ADC outputs digitally.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from memcosim.cosim.layer import CrossbarLayerConfig
from memcosim.cosim.tiles import TiledLayer, TileSettings
from memcosim.hardware_aware.deploy import ArraySettings, programmed_conductances, tia_for_full_scale
from memcosim.hardware_aware.model import HwLinear


@dataclass
class TileCost:
    """Wall time (seconds) of the tiles' ngspice work and the operating points solved."""

    build_seconds: float = 0.0
    program_seconds: float = 0.0
    read_seconds: float = 0.0
    operating_points: int = 0


class LayerTiles:
    """The tiles of one layer (a :class:`~memcosim.cosim.tiles.TiledLayer`), programmed and read."""

    def __init__(self, layer: HwLinear, arrays: ArraySettings, tiles: TileSettings):
        self.layer, self.arrays = layer, arrays
        self.cost = TileCost()
        g_min, g_max, _, _ = arrays.window()
        config = CrossbarLayerConfig(layer.inputs, layer.outputs,
                                     dataclasses.replace(arrays.device, g_min=g_min, g_max=g_max), arrays.wires,
                                     w_max=1.0, dac=arrays.dac, adc=arrays.adc, scheme="V/2")
        v_read = config.device.v_read
        config.tia = tia_for_full_scale(arrays, float(layer.adc_full_scale.max()), v_read)
        settings = dataclasses.replace(tiles, rows=arrays.size, columns=arrays.size)
        column_tiles = -(-layer.outputs // (arrays.size // 2))
        feedback = {(rt, ct): tia_for_full_scale(arrays, float(fs), v_read).r_feedback
                    for rt, fs in enumerate(layer.adc_full_scale.tolist()) for ct in range(column_tiles)}
        t0 = time.perf_counter()
        self.tiled = TiledLayer(config, settings, title=f"layer {layer.layer}", tia_feedback=feedback)
        self.cost.build_seconds += time.perf_counter() - t0

    @property
    def tiles(self) -> list:
        return self.tiled.map.spots

    def program(self, rng: np.random.Generator) -> None:
        """Write every tile's conductances (siemens): the layer's target pairs with seeded variation."""
        g_min, g_max, _, _ = self.arrays.window()
        pairs = self.layer.conductances()  # (2, outputs, inputs), stuck devices at their stuck conductance
        plus, minus = (programmed_conductances(p.T, self.layer.hw.variation, rng, g_min, g_max) for p in pairs)
        t0 = time.perf_counter()
        self.tiled.write_pair_conductances(plus, minus)
        self.cost.program_seconds += time.perf_counter() - t0

    def read(self, x_dac: np.ndarray) -> np.ndarray:
        """Signed ADC outputs (batch, outputs) in column-sum units (``v_read * (g_max - g_min)``), added over the
        row tiles, for DAC inputs ``x_dac`` (batch, inputs) in [0, 1]."""
        t0 = time.perf_counter()
        out = self.tiled.forward(x_dac).outputs
        self.cost.read_seconds += time.perf_counter() - t0
        self.cost.operating_points += len(x_dac) * len(self.tiled.map.spots)
        return out

    def close(self) -> None:
        """Stop the tiles' workers."""
        self.tiled.close()
