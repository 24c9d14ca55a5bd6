"""Tiled layers: the row/column-to-tile mapping, batched reads against scipy, writes, workers, crash recovery."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from memcosim.circuits.nodal import solve_crossbar_batch
from memcosim.config.array import DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig
from memcosim.cosim.layer import CrossbarCircuit, CrossbarLayerConfig
from memcosim.cosim.session import SessionOptions
from memcosim.cosim.tile_map import TileMap
from memcosim.cosim.tiles import TiledLayer, TileSettings
from memcosim.errors import ConfigError
from memcosim.limits import max_cells

WINDOW = DeviceConfig("resistor", g_min=1e-6, g_max=2e-5)


def _config(inputs: int = 10, outputs: int = 6, device: DeviceConfig = WINDOW, **kw) -> CrossbarLayerConfig:
    return CrossbarLayerConfig(inputs, outputs, device, WireConfig(r_row=2.5, r_column=2.5, r_driver=3.0),
                               dac=DacConfig(bits=8, r_out=1.0), adc=AdcConfig(bits=10), **kw)


def test_mapping_puts_each_weight_on_its_documented_tile_row_and_column_pair():
    m = TileMap(10, 7, rows=4, columns=6)  # 3 pairs per tile
    assert (m.row_tiles, m.column_tiles, m.count, m.pairs) == (3, 3, 9, 3)
    w = np.arange(70.0).reshape(10, 7)
    spots = {s.key: s for s in m.spots}
    block = m.tile_weights(w, spots[(1, 2)])  # rows 4..7, outputs 6 (one pair used), zero padding
    assert block.shape == (4, 3)
    np.testing.assert_array_equal(block[:, 0], w[4:8, 6])
    assert not block[:, 1:].any()
    assert m.tile_weights(w, spots[(2, 0)])[2:].sum() == 0  # rows 10, 11 are padding
    np.testing.assert_array_equal(m.assemble({k: m.tile_weights(w, s) for k, s in spots.items()}), w)
    x = np.random.default_rng(0).uniform(0, 1, (5, 10))
    parts = {k: m.tile_inputs(x, s) @ m.tile_weights(w, s) for k, s in spots.items()}
    np.testing.assert_allclose(m.add_outputs(5, parts), x @ w)


def test_bad_tilings_are_refused_with_the_field_named():
    with pytest.raises(ConfigError, match=r"tiles\.columns: .*even"):
        TileMap(10, 7, rows=4, columns=5)
    with pytest.raises(ConfigError, match=r"tiles\.max_tiles: .*needs 3 x 3 = 9 tiles, more than the 4"):
        TileMap(10, 7, rows=4, columns=6, max_tiles=4)
    with max_cells(1000), pytest.raises(ConfigError, match=r"tiles\.rows: 64 x 64 = 4,096 cells is over the limit"):
        TileMap(1024, 1024, rows=64, columns=64)
    m = TileMap(10, 7, rows=4, columns=6)
    with pytest.raises(ConfigError, match=r"weights: the tiled matrix is 10 x 7, got shape \(7, 10\)"):
        m.check_weights(np.zeros((7, 10)))
    with pytest.raises(ConfigError, match=r"x: .*10 inputs"):
        m.check_inputs(np.zeros((2, 9)))
    with pytest.raises(ConfigError, match=r"input \[0, 3\] is nan"):
        m.check_inputs(np.where(np.arange(10) == 3, np.nan, 0.0)[None])
    with pytest.raises(ConfigError, match=r"tiles\.workers"):
        TileSettings(workers=-1)


def test_unreachable_scheduler_is_a_config_error_before_any_tile_is_built():
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"tiles\.scheduler: cannot reach the Dask scheduler"):
        TiledLayer(_config(), TileSettings(4, 4, scheduler="tcp://127.0.0.1:9", connect_timeout=1.0))
    with pytest.raises(ConfigError, match=r"tiles\.scheduler: not a scheduler address"):
        TiledLayer(_config(), TileSettings(4, 4, scheduler="tcp://:1"))
    assert time.perf_counter() - t0 < 30


def _tile_currents_against_scipy(layer: TiledLayer, x: np.ndarray, read) -> float:
    """Largest |I_ngspice - I_scipy| / max |I_scipy| over the tiles (same network: wires, DAC r_out, driver,
    TIA input resistance)."""
    c = layer.tile_config
    xb_r = c.wires.r_driver + c.dac.r_out
    r_sense = c.feedback / (1.0 + c.tia.gain)
    worst = 0.0
    for key, g in layer.tile_conductances().items():
        r = read.tiles[key]
        ref = solve_crossbar_batch(g, layer.dac_voltages(r.dac_codes), c.wires.r_row, c.wires.r_column, xb_r, r_sense)
        worst = max(worst, float(np.abs(r.currents - ref).max() / np.abs(ref).max()))
    return worst


def test_in_process_tiles_read_like_scipy_and_add_partial_sums_after_the_adcs():
    rng = np.random.default_rng(1)
    w = rng.uniform(-1, 1, (10, 6))
    x = rng.uniform(0, 1, (4, 10))
    with TiledLayer(_config(), TileSettings(4, 4, workers=0)) as layer:
        assert layer.map.count == 9
        layer.write_weights(w)
        np.testing.assert_allclose(layer.weights(), w, atol=1e-12)
        read = layer.forward(x)
        assert read.outputs.shape == (4, 6)
        assert _tile_currents_against_scipy(layer, x, read) < 1e-6
        summed = np.zeros((4, 6))
        for s in layer.map.spots:
            summed[:, s.outputs] += read.tiles[s.key].outputs[:, : s.outputs.stop - s.outputs.start]
        np.testing.assert_array_equal(read.outputs, summed)
        ideal = layer.ideal_outputs(x)
        assert np.abs(read.outputs - ideal).max() < 0.1 * np.abs(ideal).max()
        # one tile read alone in its own circuit gives the same outputs
        spot = layer.spots[(1, 0)]
        cfg = layer.specs[(1, 0)].config
    with CrossbarCircuit([cfg], SessionOptions(worker=False)) as alone:
        alone.layers[0].write_weights(layer.map.tile_weights(w, spot))
        np.testing.assert_allclose(alone.layers[0].forward(layer.map.tile_inputs(x, spot)).outputs,
                                   read.tiles[(1, 0)].outputs, atol=1e-12)


def test_in_process_tiles_closed_by_another_session_are_built_again_from_their_state():
    rng = np.random.default_rng(8)
    w = rng.uniform(-1, 1, (10, 6))
    x = rng.uniform(0, 1, (2, 10))
    with TiledLayer(_config(), TileSettings(4, 4, workers=0)) as layer:
        layer.write_weights(w)
        want = layer.forward(x).outputs
        other = CrossbarCircuit([_config(4, 2)], SessionOptions(worker=False))  # closes every other in-process session
        other.close()
        np.testing.assert_allclose(layer.forward(x).outputs, want, atol=1e-12)
        np.testing.assert_allclose(layer.weights(), w, atol=1e-12)


@pytest.mark.slow
def test_worker_pool_matches_in_process_and_states_checkpoint(tmp_path):
    rng = np.random.default_rng(2)
    w = rng.uniform(-1, 1, (8, 4))
    x = rng.uniform(0, 1, (3, 8))
    ck = tmp_path / "tiles.npz"
    with TiledLayer(_config(8, 4, DeviceConfig("linear_ion_drift")), TileSettings(4, 4, workers=0)) as ref:
        ref.write_weights(w)
        want = ref.forward(x).outputs
    with TiledLayer(_config(8, 4, DeviceConfig("linear_ion_drift")),
                    TileSettings(4, 4, workers=2, checkpoint=str(ck))) as layer:
        assert {w.pid for w in layer.pool.workers}.__len__() == 2
        layer.write_weights(w)
        assert ck.exists()
        np.testing.assert_allclose(layer.forward(x).outputs, want, atol=1e-9)
        saved = layer.states()
        layer.write_weights(-w)
        assert not np.allclose(layer.forward(x).outputs, want, atol=1e-3)
        layer.load_states(ck)  # the checkpoint written after write_weights(-w): -w
        np.testing.assert_allclose(layer.weights(), -w, atol=1e-9)
        np.savez(tmp_path / "bad.npz", shape=np.array([1, 2, 3, 4]))
        with pytest.raises(ConfigError, match=r"tiles\.checkpoint: .*different tiling"):
            layer.load_states(tmp_path / "bad.npz")
    assert set(saved) == {(0, 0), (1, 0), (0, 1), (1, 1)}


@pytest.mark.slow
def test_a_worker_killed_mid_read_is_replaced_and_the_read_repeated_from_the_last_state():
    rng = np.random.default_rng(3)
    w = rng.uniform(-1, 1, (32, 16))
    x = rng.uniform(0, 1, (400, 32))  # a read long enough (hundreds of operating points) to be killed inside
    with TiledLayer(_config(32, 16, DeviceConfig("linear_ion_drift")), TileSettings(32, 32, workers=1)) as layer:
        layer.write_weights(w)
        before = layer.states()
        want = layer.forward(x).outputs
        worker = layer.pool.workers[0]
        pid, calls = worker.pid, worker.calls

        def kill_once_the_read_is_sent() -> None:
            deadline = time.monotonic() + 60
            while worker.calls == calls and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(0.02)
            worker.kill()

        killer = threading.Thread(target=kill_once_the_read_is_sent)
        killer.start()
        got = layer.forward(x).outputs
        killer.join()
        assert worker.calls > calls + 1 and worker.pid != pid, "the kill did not land mid-read"
        assert layer.restarts == 1 and "killed by SIGKILL" in layer.pool.crashes[0]
        np.testing.assert_allclose(got, want, atol=1e-9)
        for key, s in layer.states().items():
            np.testing.assert_array_equal(s, before[key])


@pytest.mark.slow
def test_pulses_and_slots_program_each_tile_through_its_own_drivers():
    from memcosim.cosim.layer import Slot
    from memcosim.programming.tile_writes import TilePulse, pulse_tiles

    cfg = CrossbarLayerConfig(8, 4, DeviceConfig("linear_ion_drift"), WireConfig.uniform(1.0))
    with TiledLayer(cfg, TileSettings(4, 4, workers=2)) as layer:
        before = layer.states()
        amplitude = cfg.pulse.amplitude
        res = pulse_tiles(layer, {(0, 0): [TilePulse(amplitude, 50e-9, "cell", (1, 2))],
                                  (1, 1): [TilePulse(-amplitude, 50e-9, "cell", (3, 0))]})
        after = layer.states()
        assert res[(0, 0)][0].delta[1, 2] != 0 and res[(1, 1)][0].delta[3, 0] != 0
        np.testing.assert_array_equal(after[(0, 0)], res[(0, 0)][0].after)
        for key in ((0, 1), (1, 0)):
            np.testing.assert_array_equal(after[key], before[key])  # tiles not written keep their state
        moved = np.abs(after[(0, 0)] - before[(0, 0)])
        assert np.unravel_index(moved.argmax(), moved.shape) == (1, 2)  # half-selected cells move less (no threshold)
        rows, cols = np.zeros(4, bool), np.zeros(4, bool)
        rows[0], cols[1] = True, True
        out = layer.pulse_slots({(0, 1): [Slot(amplitude, {0: (rows, cols)})]})
        assert out[(0, 1)].cell_pulses == 1
        assert layer.states()[(0, 1)][0, 1] != before[(0, 1)][0, 1]
        with pytest.raises(ConfigError, match=r"pulses\[\(0, 0\)\]\[0\]: must be a TilePulse"):
            pulse_tiles(layer, {(0, 0): [(1.0, 1e-9)]})


def test_per_tile_feedback_and_pair_conductances():
    rng = np.random.default_rng(4)
    plus, minus = rng.uniform(1e-6, 2e-5, (6, 3)), rng.uniform(1e-6, 2e-5, (6, 3))
    with pytest.raises(ConfigError, match=r"tia_feedback: no tile \(5, 0\)"):
        TiledLayer(_config(6, 3), TileSettings(4, 4, workers=0), tia_feedback={(5, 0): 1e3})
    with TiledLayer(_config(6, 3), TileSettings(4, 4, workers=0), tia_feedback={(1, 0): 777.0}) as layer:
        assert layer.specs[(1, 0)].config.feedback == 777.0 and layer.specs[(0, 0)].config.tia.automatic
        layer.write_pair_conductances(plus, minus)
        g = layer.tile_conductances()
        np.testing.assert_allclose(g[(1, 1)][:2, 0], plus[4:, 2])
        np.testing.assert_allclose(g[(1, 1)][:2, 1], minus[4:, 2])
        assert np.all(g[(1, 1)][2:] == 1e-6) and np.all(g[(1, 1)][:, 2:] == 1e-6)  # padding at g_min
        np.testing.assert_allclose(layer.weights(), (plus - minus) / layer.tile_config.k)
        with pytest.raises(ConfigError, match=r"conductances\[\(0, 0\)\]: need 4 x 4"):
            layer.write_conductances({(0, 0): np.zeros((4, 3))})


@pytest.mark.slow
def test_tiles_on_a_running_dask_cluster_read_like_in_process():
    from distributed import LocalCluster

    rng = np.random.default_rng(5)
    w = rng.uniform(-1, 1, (8, 4))
    x = rng.uniform(0, 1, (3, 8))
    with TiledLayer(_config(8, 4), TileSettings(4, 4, workers=0)) as ref:
        ref.write_weights(w)
        want = ref.forward(x).outputs
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with TiledLayer(_config(8, 4), TileSettings(4, 4, scheduler=cluster.scheduler_address)) as layer:
            assert layer.pool.size == 2
            layer.write_weights(w)
            np.testing.assert_allclose(layer.forward(x).outputs, want, atol=1e-9)
            np.testing.assert_allclose(layer.weights(), w, atol=1e-12)


@pytest.mark.slow
def test_a_worker_keeps_every_tile_it_serves_loaded_and_reads_it_again_without_a_rebuild():
    from memcosim.cosim.tiles import live_tiles, tiles_kept

    rng = np.random.default_rng(6)
    w = rng.uniform(-1, 1, (8, 4))
    x = rng.uniform(0, 1, (3, 8))
    cfg = _config(8, 4, DeviceConfig("linear_ion_drift"))
    with TiledLayer(cfg, TileSettings(4, 4, workers=0)) as ref:
        ref.write_weights(w)
        want = ref.forward(x).outputs
    with TiledLayer(cfg, TileSettings(4, 4, workers=1)) as layer:
        assert tiles_kept(layer.specs[(0, 0)]) > 4
        layer.write_weights(w)
        np.testing.assert_allclose(layer.forward(x).outputs, want, atol=1e-9)
        np.testing.assert_allclose(layer.forward(x).outputs, want, atol=1e-9)
        # the same four circuits served both reads (3 operating points each, twice)
        assert layer.pool.workers[0].call(live_tiles) == {key: 6 for key in layer.specs}
    # a worker that may keep one tile only: every call on another tile rebuilds it from the tile's state
    with TiledLayer(cfg, TileSettings(4, 4, workers=1, loaded_mb=1e-6)) as layer:
        assert tiles_kept(layer.specs[(0, 0)]) == 1
        layer.write_weights(w)
        np.testing.assert_allclose(layer.forward(x).outputs, want, atol=1e-9)
        assert list(layer.pool.workers[0].call(live_tiles)) == [(1, 1)]


@pytest.mark.slow
def test_a_dask_worker_killed_mid_read_loses_no_state_and_the_read_is_repeated_with_the_same_outputs():
    import os
    import signal

    from distributed import LocalCluster

    rng = np.random.default_rng(7)
    w = rng.uniform(-1, 1, (32, 16))
    x = rng.uniform(0, 1, (300, 32))  # one 32x32 tile read long enough (hundreds of operating points) to be killed inside
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with TiledLayer(_config(32, 16, DeviceConfig("linear_ion_drift")),
                        TileSettings(32, 32, scheduler=cluster.scheduler_address)) as layer:
            client = layer.pool.client
            layer.write_weights(w)
            before = layer.states()
            want = layer.forward(x).outputs
            pids = client.run(os.getpid)  # worker address -> process id
            killed = []

            def kill_the_worker_reading() -> None:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    busy = [a for a, tasks in client.processing().items() if tasks]
                    if busy:
                        time.sleep(0.3)  # inside the read: its hundreds of operating points take longer
                        os.kill(pids[busy[0]], signal.SIGKILL)
                        killed.append(pids[busy[0]])
                        return
                    time.sleep(0.01)

            killer = threading.Thread(target=kill_the_worker_reading)
            killer.start()
            got = layer.forward(x).outputs
            killer.join()
            assert killed, "no worker was reading"
            assert killed[0] not in client.run(os.getpid).values()  # that process is gone (its nanny started another)
            np.testing.assert_allclose(got, want, atol=1e-9)
            for key, s in layer.states().items():
                np.testing.assert_array_equal(s, before[key])
