"""Programming pulses on tiled layers: each tile through its own drivers, all tiles at once across the workers.

A :class:`~memcosim.cosim.tiles.TiledLayer` keeps every tile in its own session on a worker; this module sends
each tile its list of :class:`TilePulse` and applies them there with the one programming path,
:func:`memcosim.programming.pulses.apply_layer_pulse` (the tile's V/2 or V/3 scheme, its wires and drivers). The
tiles' states are read back and checkpointed by the tiled layer; a worker lost mid-write is replaced and the
tile's pulses are repeated from its last completed state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from memcosim import fields as f
from memcosim.cosim.layer import CrossbarLayer
from memcosim.cosim.tiles import Key, TiledLayer
from memcosim.errors import ConfigError
from memcosim.programming.pulses import SELECTIONS, PulseResult, apply_layer_pulse


@dataclass(frozen=True)
class TilePulse:
    """One programming pulse on a tile: ``amplitude`` volts at the selected cells (> 0 SET, < 0 RESET) for
    ``width`` seconds (None = the layer's pulse width), on a ``cell`` ``(row, physical column)``, a ``row``,
    a ``column`` or the whole ``array`` of the tile."""

    amplitude: float
    width: float | None = None
    selection: str = "cell"
    index: tuple[int, int] | int | None = None

    def __post_init__(self) -> None:
        f.number("pulse.amplitude", self.amplitude, unit="V")
        if self.width is not None:
            f.number("pulse.width", self.width, low=0.0, low_open=True, unit="s")
        f.choice("pulse.selection", self.selection, SELECTIONS)


def apply_tile_pulses(layer: CrossbarLayer, pulses: Sequence[TilePulse]) -> list[PulseResult]:
    """Apply ``pulses`` one after another to one tile (runs in the tile's worker)."""
    return [apply_layer_pulse(layer, p.amplitude, p.width, p.selection, p.index) for p in pulses]


def pulse_tiles(layer: TiledLayer, pulses: Mapping[Key, Sequence[TilePulse]]) -> dict[Key, list[PulseResult]]:
    """Programming pulses per tile, in parallel across the workers: ``pulses[(row_tile, column_tile)]`` in order
    on that tile. Returns each tile's pulse results (states before and after, rows x physical columns)."""
    for key, tile_pulses in pulses.items():
        if key not in layer.specs:
            raise ConfigError("pulses", f"no tile {key!r} (the grid is {layer.map.row_tiles} x {layer.map.column_tiles})")
        for n, p in enumerate(tile_pulses):
            if not isinstance(p, TilePulse):
                raise ConfigError(f"pulses[{key}][{n}]", f"must be a TilePulse, got {type(p).__name__}")
    return layer.map_tiles(apply_tile_pulses, {key: (list(v),) for key, v in pulses.items()}, writes=True,
                           keys=list(pulses))
