"""Where each weight of a large signed matrix sits: the mapping of rows and columns onto tiles.

A weight matrix ``W`` of ``inputs`` x ``outputs`` (signed, weight units) is cut into tiles of ``rows`` rows and
``columns`` physical columns; each tile is one crossbar with its own periphery, and a signed weight takes a
differential column pair, so a tile holds ``pairs = columns / 2`` outputs. The mapping:

* input (matrix row) ``i`` -> row tile ``i // rows``, tile row ``i % rows``;
* output (matrix column) ``j`` -> column tile ``j // pairs``, physical columns ``2 * (j % pairs)`` (the + device)
  and ``2 * (j % pairs) + 1`` (the - device) of that tile;
* tile ``(r, c)`` holds ``W[r*rows:(r+1)*rows, c*pairs:(c+1)*pairs]``.

The matrix is padded with zeros to whole tiles: padded rows are driven at 0 V (input 0) and padded pairs hold
weight 0; their outputs are dropped. A read of the matrix is the sum, over the row tiles of one column tile,
of each tile's digital output (after its ADCs): ``y[:, c-block] = sum_r x[:, r-block] @ W[r-block, c-block]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim import fields as f
from memcosim.errors import ConfigError
from memcosim.limits import check_cells


@dataclass(frozen=True)
class TileSpot:
    """One tile of a :class:`TileMap`: its place in the grid and the matrix rows and columns it holds."""

    row_tile: int
    column_tile: int
    inputs: slice  # matrix rows (inputs) held, tile rows 0 .. inputs.stop - inputs.start - 1
    outputs: slice  # matrix columns (signed outputs) held, column pairs 0 .. outputs.stop - outputs.start - 1

    @property
    def key(self) -> tuple[int, int]:
        """``(row_tile, column_tile)``."""
        return (self.row_tile, self.column_tile)


@dataclass(frozen=True)
class TileMap:
    """An ``inputs`` x ``outputs`` signed matrix on tiles of ``rows`` x ``columns`` physical cells (see the module
    text). ``max_tiles``: the tiles available (0 = as many as needed); a matrix that needs more is refused."""

    inputs: int
    outputs: int
    rows: int
    columns: int
    max_tiles: int = 0

    def __post_init__(self) -> None:
        f.integer("inputs", self.inputs, 1)
        f.integer("outputs", self.outputs, 1)
        f.integer("tiles.rows", self.rows, 1)
        f.integer("tiles.columns", self.columns, 2)
        f.integer("tiles.max_tiles", self.max_tiles, 0)
        if self.columns % 2:
            raise ConfigError("tiles.columns", f"a tile holds differential column pairs: columns must be even, "
                                               f"got {self.columns}")
        check_cells(self.rows, self.columns, "tiles.rows")
        if self.max_tiles and self.count > self.max_tiles:
            raise ConfigError("tiles.max_tiles", f"a {self.inputs} x {self.outputs} matrix on {self.rows} x "
                                                 f"{self.columns} tiles needs {self.row_tiles} x {self.column_tiles} = "
                                                 f"{self.count} tiles, more than the {self.max_tiles} available")

    @property
    def pairs(self) -> int:
        """Signed outputs per tile (column pairs)."""
        return self.columns // 2

    @property
    def row_tiles(self) -> int:
        return -(-self.inputs // self.rows)

    @property
    def column_tiles(self) -> int:
        return -(-self.outputs // self.pairs)

    @property
    def count(self) -> int:
        """Number of tiles."""
        return self.row_tiles * self.column_tiles

    @property
    def spots(self) -> list[TileSpot]:
        """Every tile, row tile major."""
        return [TileSpot(r, c, slice(r * self.rows, min((r + 1) * self.rows, self.inputs)),
                         slice(c * self.pairs, min((c + 1) * self.pairs, self.outputs)))
                for r in range(self.row_tiles) for c in range(self.column_tiles)]

    # -- matrix <-> tiles -------------------------------------------------------------------
    def check_weights(self, weights: np.ndarray, field: str = "weights") -> np.ndarray:
        """``weights`` as a finite float matrix of ``inputs`` x ``outputs`` (ConfigError naming ``field``)."""
        w = np.asarray(weights, dtype=float)
        if w.shape != (self.inputs, self.outputs):
            raise ConfigError(field, f"the tiled matrix is {self.inputs} x {self.outputs}, got shape {w.shape}")
        bad = np.argwhere(~np.isfinite(w))
        if bad.size:
            i, j = bad[0]
            raise ConfigError(field, f"weight [{i}, {j}] is {float(w[i, j])!r}: every weight must be finite")
        return w

    def tile_weights(self, weights: np.ndarray, spot: TileSpot) -> np.ndarray:
        """The ``rows`` x ``pairs`` weights of one tile (zero-padded)."""
        out = np.zeros((self.rows, self.pairs))
        block = np.asarray(weights, dtype=float)[spot.inputs, spot.outputs]
        out[: block.shape[0], : block.shape[1]] = block
        return out

    def tile_inputs(self, x: np.ndarray, spot: TileSpot) -> np.ndarray:
        """The batch x ``rows`` inputs of one tile's rows (zero-padded)."""
        out = np.zeros((x.shape[0], self.rows))
        out[:, : spot.inputs.stop - spot.inputs.start] = x[:, spot.inputs]
        return out

    def check_inputs(self, x: np.ndarray, field: str = "x") -> np.ndarray:
        """``x`` as a finite batch x ``inputs`` float matrix (one vector may be given as a 1-D array)."""
        a = np.asarray(x, dtype=float)
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.shape[1] != self.inputs:
            raise ConfigError(field, f"the tiled matrix has {self.inputs} inputs, got input shape {np.shape(x)}")
        bad = np.argwhere(~np.isfinite(a))
        if bad.size:
            i, j = bad[0]
            raise ConfigError(field, f"input [{i}, {j}] is {float(a[i, j])!r}: inputs must be finite")
        return a

    def assemble(self, per_tile: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
        """The ``inputs`` x ``outputs`` matrix from each tile's ``rows`` x ``pairs`` block (padding dropped)."""
        out = np.zeros((self.inputs, self.outputs))
        for s in self.spots:
            block = per_tile[s.key]
            out[s.inputs, s.outputs] = block[: s.inputs.stop - s.inputs.start, : s.outputs.stop - s.outputs.start]
        return out

    def add_outputs(self, batch: int, per_tile: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
        """Partial sums added digitally: batch x ``outputs`` from each tile's batch x ``pairs`` outputs."""
        y = np.zeros((batch, self.outputs))
        for s in self.spots:
            y[:, s.outputs] += per_tile[s.key][:, : s.outputs.stop - s.outputs.start]
        return y
