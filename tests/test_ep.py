"""Equilibrium propagation with real ngspice in the loop: gradient check, learning, resume, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from memcosim.circuits.ep_network import EpNetworkConfig
from memcosim.config.array import DeviceConfig, WireConfig
from memcosim.config.pulse import PulseConfig
from memcosim.cosim.session import SessionOptions
from memcosim.errors import ConfigError, MemcosimError
from memcosim.trainers.config import (PulseUpdateConfig, RunConfig, TrainConfig, load_run_config, run_config_to_toml)
from memcosim.trainers.datasets import Dataset, load_dataset
from memcosim.trainers.ep import EPTrainer

NET = dict(sizes=[4, 5, 2], device={"model": "vteam"}, wires={"r_row": 1.0, "r_column": 1.0}, gain=10.0, diode_bias=-0.2, v_input=0.5, v_bias=0.5,
           g_init=[1e-6, 1e-4])


def _iris2(limit: int = 24) -> Dataset:
    return load_dataset("iris", 0.3, seed=0, classes=[0, 1], train_limit=limit, test_limit=12)


def _config(**train) -> RunConfig:
    base = dict(dataset="iris", classes=[0, 1], epochs=2, lr=1.0, beta=1e-6, progress=False)
    return RunConfig(train={**base, **train}, network=dict(NET))


@pytest.mark.parametrize("sense", ["cells", "lines"])
def test_ep_update_agrees_with_finite_difference_gradient_of_the_circuit(sense):
    """For small beta the EP estimate matches dL/dG from finite differences on the same netlist, from
    every cell's terminals or only from the row drivers and neurons (wire drops left out)."""
    config = _config(beta=1e-8)
    config.network.sense = sense
    tight = SessionOptions(reltol=1e-9, vntol=1e-12, abstol=1e-16)
    data = _iris2()
    with EPTrainer(config, data, options=tight) as tr:
        x, y = data.x_train[:1], data.y_train[:1]
        _, ep = tr.gradient(x, y)
        g = [a.copy() for a in tr.conductances]
        t = tr.targets(y)[0]

        def loss(gg):
            tr.circuit.write_conductances(gg)
            return 0.5 * np.sum((tr.circuit.outputs(x[0]) - t) ** 2)

        fd = []
        for l, gl in enumerate(g):
            out = np.zeros_like(gl)
            for idx in np.ndindex(gl.shape):
                d = 1e-3 * gl[idx]
                plus = [a.copy() for a in g]
                minus = [a.copy() for a in g]
                plus[l][idx] += d
                minus[l][idx] -= d
                out[idx] = (loss(plus) - loss(minus)) / (2 * d)
            fd.append(out)
        tr.circuit.write_conductances(g)
    a = np.concatenate([e.ravel() for e in ep])
    b = np.concatenate([f.ravel() for f in fd])
    cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    assert cosine > 0.9, cosine
    np.testing.assert_array_equal(np.sign(a[np.abs(b) > 0.1 * np.abs(b).max()]),
                                  np.sign(b[np.abs(b) > 0.1 * np.abs(b).max()]))


def test_training_with_ngspice_in_the_loop_reduces_the_loss():
    data = _iris2(limit=40)
    with EPTrainer(_config(epochs=3), data) as tr:
        before, _ = tr.evaluate(data.x_train, data.y_train)
        history = tr.fit(log=None)
        after, acc = tr.evaluate(data.x_train, data.y_train)
    assert after < 0.7 * before, (before, after)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["operating_points"] > 0


def test_resumed_run_ends_with_the_same_device_states(tmp_path):
    data = _iris2(limit=16)
    with EPTrainer(_config(epochs=2), data) as tr:
        tr.fit(log=None)
        whole_states, whole_history = tr.circuit.session.states.copy(), tr.history
    ckpt = tmp_path / "ep.npz"
    with EPTrainer(_config(epochs=1, checkpoint=str(ckpt)), data) as tr:
        tr.fit(log=None)
    assert ckpt.is_file()
    with EPTrainer(_config(epochs=2), data) as tr:
        tr.fit(resume=ckpt, log=None)
        resumed_states, resumed_history = tr.circuit.session.states.copy(), tr.history
    np.testing.assert_array_equal(resumed_states, whole_states)
    assert [r["train_loss"] for r in resumed_history] == [r["train_loss"] for r in whole_history]


def test_adam_steps_resume_to_the_same_conductances(tmp_path):
    """Adam's moments and step count are part of the checkpoint: a resumed run matches a whole one."""
    data = _iris2(limit=24)
    config = lambda epochs, ckpt="": _config(epochs=epochs, backend="software", optimizer="adam", lr=0.02,
                                             lr_decay=0.9, batch_size=4, checkpoint=ckpt)
    with EPTrainer(config(3), data) as tr:
        g0 = [a.copy() for a in tr.conductances]
        tr.fit(log=None)
        whole = [a.copy() for a in tr.conductances]
        assert tr.rule.t == 3 * 6
        # no step is larger than lr x window (Adam's bound, first epoch's rate)
        assert max(np.max(np.abs(a - b)) for a, b in zip(whole, g0)) <= 3 * 6 * 0.02 * (1e-4 - 1e-6)
    ckpt = tmp_path / "adam.npz"
    with EPTrainer(config(1, str(ckpt)), data) as tr:
        tr.fit(log=None)
    with EPTrainer(config(3), data) as tr:
        tr.fit(resume=ckpt, log=None)
        assert tr.rule.t == 3 * 6
        for a, b in zip(tr.conductances, whole):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="train.optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ConfigError, match="train.lr_decay"):
        TrainConfig(lr_decay=0.0)


def test_pulse_updates_move_conductances_the_requested_way():
    net = dict(NET, sizes=[4, 3, 2], programming={"scheme": "V/2", "pulse": {"amplitude": 0.6}})
    config = RunConfig(train=dict(dataset="iris", classes=[0, 1], update="pulse", progress=False),
                       network=net, pulse=PulseUpdateConfig(PulseConfig(0.6, 10e-9), PulseConfig(-0.6, 10e-9), max_pulses=3))
    with EPTrainer(config, _iris2()) as tr:
        g0 = [a.copy() for a in tr.conductances]
        delta = [np.zeros_like(a) for a in g0]
        delta[0][0, :] = 1e-5  # row 0 of layer 0 up, row 3 down; everything else must stay
        delta[0][3, :] = -1e-5
        tr.updater.apply(delta, np.random.default_rng(0))
        g1 = tr.conductances
        assert np.all(g1[0][0] >= g0[0][0]) and np.all(g1[0][3] <= g0[0][3])
        assert np.sum(g1[0][0] > g0[0][0]) >= 2 and np.sum(g1[0][3] < g0[0][3]) >= 2
        rest = np.ones(g0[0].shape, bool)
        rest[[0, 3]] = False
        np.testing.assert_allclose(g1[0][rest], g0[0][rest], rtol=1e-9)
        np.testing.assert_allclose(g1[1], g0[1], rtol=1e-9)
        assert tr.updater.pulses > 0
        # the pulse energy counts every supply group of the network, not only the programming drivers
        extra = tr.epoch_extras()
        assert {"programming_drivers", "row_drivers", "bias", "neurons"} <= set(tr.updater.energy)
        assert tr.updater.energy["programming_drivers"] > 0
        assert extra["energy"] == pytest.approx(sum(tr.updater.energy.values())) and extra["energy"] > 0
        # after programming the network reads as before the switch to programming mode
        out = tr.predict(tr.dataset.x_test[:2])
        assert np.all(np.isfinite(out)) and np.max(np.abs(out)) < 0.5


def test_bad_input_gives_clear_errors_and_keeps_device_states(tmp_path):
    with pytest.raises(ConfigError, match="train.beta"):
        TrainConfig(beta=0.0)
    with pytest.raises(ConfigError, match="train.beta"):
        TrainConfig(beta=-1e-6)
    with pytest.raises(ConfigError, match=r"network.sizes\[0\]"):
        EPTrainer(RunConfig(train=dict(dataset="iris", progress=False), network=dict(NET, sizes=[3, 4, 3])))
    with pytest.raises(ConfigError, match=r"network.sizes\[-1\]"):
        EPTrainer(RunConfig(train=dict(dataset="iris", progress=False), network=dict(NET, sizes=[4, 4, 2])))
    x = np.zeros((4, 4))
    x[2, 1] = np.nan
    with pytest.raises(ConfigError, match=r"dataset.x_train.*\[2, 1\]"):
        Dataset("bad", x, np.zeros(4, int), x[:0], np.zeros(0, int), 2)

    data = _iris2(limit=8)
    with EPTrainer(_config(epochs=1), data) as tr:
        states = tr.circuit.session.states.copy()
        g = [a.copy() for a in tr.conductances]
        with pytest.raises(ConfigError, match="input"):
            tr.train_batch(np.full((1, 4), np.inf), np.array([0]))
        with pytest.raises(ConfigError, match="input"):
            tr.train_batch(np.zeros((1, 3)), np.array([0]))
        with pytest.raises(MemcosimError, match="no file"):
            tr.fit(resume=tmp_path / "missing.npz", log=None)
        junk = tmp_path / "junk.npz"
        junk.write_bytes(b"not a checkpoint")
        with pytest.raises(MemcosimError, match="not a memcosim checkpoint"):
            tr.fit(resume=junk, log=None)
        np.testing.assert_array_equal(tr.circuit.session.states, states)
        for a, b in zip(tr.conductances, g):
            np.testing.assert_array_equal(a, b)
        assert tr.epoch == 0
        tr.fit(log=None)  # still usable
        assert tr.epoch == 1


def test_run_config_toml_round_trip_and_unknown_keys(tmp_path):
    config = RunConfig(train=dict(dataset="digits", epochs=3, beta=2e-6, layer_lr=[0.5, 1.0]),
                       network=dict(NET, sizes=[64, 8, 10], programming={"scheme": "V/3", "pulse": {"amplitude": 0.6}}))
    path = tmp_path / "run.toml"
    path.write_text(run_config_to_toml(config))
    assert load_run_config(path) == config
    path.write_text("[train]\nepochz = 3\n")
    with pytest.raises(ConfigError, match="train.epochz"):
        load_run_config(path)
    path.write_text("[network]\nsizes = [4, 0, 3]\n")
    with pytest.raises(ConfigError, match=r"network.sizes\[1\]"):
        load_run_config(path)
    with pytest.raises(ConfigError, match="network.device.g_max"):
        EpNetworkConfig(device=DeviceConfig("vteam", g_max=1.0))
    with pytest.raises(ConfigError, match="network.sense"):
        EpNetworkConfig(device=DeviceConfig("resistor"), sense="wires")
    with pytest.raises(ConfigError, match="network.wires.r_column"):
        EpNetworkConfig(wires=WireConfig(r_row=1.0, r_column=2.0))


def test_pulse_slots_give_every_cell_its_count_and_run_layers_in_parallel():
    from memcosim.trainers.ep_pulse import pulse_slots

    rng = np.random.default_rng(3)
    counts = [rng.integers(-2, 3, (10, 4)), rng.integers(-2, 3, (6, 2))]
    slots = pulse_slots(counts, "V/2", 0.8, -0.8)
    got = [np.zeros_like(c) for c in counts]
    for slot in slots:
        for l, (amplitude, rows, column) in slot.items():
            assert rows.any() and amplitude in (0.8, -0.8)
            got[l][rows, column] += 1 if amplitude > 0 else -1
    for a, b in zip(got, counts):
        np.testing.assert_array_equal(a, b)
    # one column and polarity per pulse index: layer 0 needs the most slots, layer 1 runs alongside
    need = [sum(int(np.maximum(s * c[:, j], 0).max()) for j in range(c.shape[1]) for s in (1, -1)) for c in counts]
    assert len(slots) == max(need)


def test_cli_train_writes_history_and_learning_curve(tmp_path, capsys):
    from memcosim.cli import main

    config = _config(epochs=2, backend="software", train_limit=20)
    path = tmp_path / "run.toml"
    path.write_text(run_config_to_toml(config))
    assert main(["train", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "epoch   2" in text
    assert (tmp_path / "out" / "learning_curve.png").stat().st_size > 1000
    assert main(["train", str(tmp_path / "none.toml")]) == 2


def _pulse_config(**pulse) -> RunConfig:
    net = dict(NET, sizes=[4, 3, 2], programming={"scheme": "V/2", "pulse": {"amplitude": 0.8}})
    return RunConfig(train=dict(dataset="iris", classes=[0, 1], update="pulse", progress=False, epochs=2,
                                batch_size=4, optimizer="adam", lr=0.05),
                     network=net, pulse=PulseUpdateConfig(PulseConfig(0.8, 5e-9), PulseConfig(-0.8, 5e-9), max_pulses=2, **pulse))


def test_accumulated_pulses_track_the_digital_copy():
    """pulse.accumulate: the request goes into the digital copy and the devices close the gap over the
    next batches (more pulses for cells still short of it), with steps learnt per cell."""
    with EPTrainer(_pulse_config(accumulate=True), _iris2()) as tr:
        up, device = tr.updater, tr.circuit.device
        # per-cell steps measured in the array: SET and RESET of opposite signs in every cell
        assert all(np.all(s * r < 0) for s, r in zip(up.cell_set, up.cell_reset))
        cells = tr.circuit.network.layers[0].cells
        tr.circuit.session.set_states({n: 1.5 for n in list(cells[0]) + list(cells[3])})  # mid-window
        up.g = tr.circuit.conductances_from_states()
        up.target = [a.copy() for a in up.g]
        g0 = [a.copy() for a in up.g]
        # row 0 of layer 0 up, row 3 down, each by 5 calibrated pulses (2 per batch at most)
        delta = [np.zeros_like(a) for a in g0]
        for row, step in ((0, up.cell_set[0]), (3, up.cell_reset[0])):
            delta[0][row] = device.conductance(1.5 + 5 * step[row]) - g0[0][row]
        rng = np.random.default_rng(0)
        up.apply(delta, rng)
        np.testing.assert_allclose(up.target[0], np.clip(g0[0] + delta[0], *tr.config.network.window))
        np.testing.assert_array_equal(up.target[1], g0[1])
        gap = [np.abs(up.g[0][i] - up.target[0][i]).sum() for i in (0, 3)]
        for _ in range(3):  # nothing new requested: the devices keep moving toward the copy
            up.apply([np.zeros_like(a) for a in g0], rng)
        later = [np.abs(up.g[0][i] - up.target[0][i]).sum() for i in (0, 3)]
        assert later[0] < 0.5 * gap[0] and later[1] < 0.5 * gap[1], (gap, later)
        assert np.all(up.g[0][0] > g0[0][0]) and np.all(up.g[0][3] < g0[0][3])
        rest = np.ones(g0[0].shape, bool)
        rest[[0, 3]] = False
        np.testing.assert_allclose(up.g[0][rest], g0[0][rest], rtol=1e-6)
        np.testing.assert_allclose(up.g[1], g0[1], rtol=1e-6)
        # within about one pulse of the copy: the remaining gap per cell is below its step
        missing = np.abs(device.state_for(up.target[0])
                         - device.state_for(up.g[0]))[[0, 3]]
        step = np.maximum(np.abs(up.cell_set[0]), np.abs(up.cell_reset[0]))[[0, 3]]
        assert np.all(missing <= 1.5 * step), (missing, step)


def test_accumulated_pulse_run_resumes_to_the_same_device_states(tmp_path):
    data = _iris2(limit=8)
    config = lambda epochs, ckpt="": dataclasses.replace(
        _pulse_config(accumulate=True), train=dataclasses.replace(_pulse_config().train, epochs=epochs, checkpoint=ckpt))
    with EPTrainer(config(2), data) as tr:
        tr.fit(log=None)
        whole, target = tr.circuit.session.states.copy(), [a.copy() for a in tr.updater.target]
        assert tr.updater.pulses > 0
    ckpt = tmp_path / "acc.npz"
    with EPTrainer(config(1, str(ckpt)), data) as tr:
        tr.fit(log=None)
    with EPTrainer(config(2), data) as tr:
        tr.fit(resume=ckpt, log=None)
        np.testing.assert_array_equal(tr.circuit.session.states, whole)
        for a, b in zip(tr.updater.target, target):
            np.testing.assert_array_equal(a, b)
        arrays = tr.state_arrays()
        del arrays["target1"]  # a checkpoint without the digital copy is refused, nothing changes
        states = tr.circuit.session.states.copy()
        with pytest.raises(ConfigError, match="target1"):
            tr.load_state_arrays(arrays)
        np.testing.assert_array_equal(tr.circuit.session.states, states)
    with pytest.raises(ConfigError, match="pulse.reltol"):
        PulseUpdateConfig(reltol=0.0)
    with pytest.raises(ConfigError, match="pulse.accumulate"):
        PulseUpdateConfig(accumulate="yes")


def test_programming_tolerances_change_the_pulses_little():
    """The programming transients at reltol 1e-3 move the states as at the operating points' 1e-6."""
    moved = []
    for reltol, vntol in ((1e-6, 1e-9), (1e-3, 1e-6)):
        with EPTrainer(_pulse_config(reltol=reltol, vntol=vntol), _iris2()) as tr:
            s0 = tr.circuit.session.states.copy()
            counts = [np.zeros(a.shape, int) for a in tr.conductances]
            counts[0][:, 0], counts[0][:, 1], counts[1][:, 0] = 2, -1, 1
            from memcosim.trainers.ep_pulse import apply_pulses
            apply_pulses(tr.circuit, counts, tr.config.pulse)
            moved.append(tr.circuit.session.states - s0)
            out = tr.predict(tr.dataset.x_test[:1])  # the operating points still converge afterwards
            assert np.all(np.isfinite(out))
    a, b = moved
    assert np.count_nonzero(a) >= 8
    assert a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.99
    np.testing.assert_allclose(b, a, atol=0.1 * np.abs(a).max())


@pytest.mark.slow
def test_layer_by_layer_pulses_move_the_states_as_one_network_transient():
    """pulse.transient = "layers" (each weight layer alone in its own session, the layers at once) and "network"
    (one transient over the whole network in programming mode) pulse the same circuit: the same state changes
    and energy; the network's session takes the layers' states, and a second batch starts from them. With the
    gap between slots simulated (``keep_gap``) the two transients take the same time points: state changes
    within 1e-4 of the largest plus 1 % of each, energy within 1e-3; without it (the default) their time points
    part a little: within 3 % of each change (measured 1.2 %), energy within 5e-3."""
    from memcosim.trainers.ep_pulse import apply_pulses

    moved: dict[bool, list] = {True: [], False: []}
    energy: dict[bool, list] = {True: [], False: []}
    for transient in ("network", "layers"):
        with EPTrainer(_pulse_config(transient=transient), _iris2()) as tr:
            s0 = tr.circuit.session.states.copy()
            counts = [np.random.default_rng(5).integers(-2, 3, a.shape) for a in tr.conductances]
            for keep_gap in (True, False):
                tr.circuit.session.set_states(s0)
                e: dict[str, float] = {}
                for _ in range(2):
                    apply_pulses(tr.circuit, counts, tr.config.pulse, e, keep_gap=keep_gap)
                moved[keep_gap].append(tr.circuit.session.states - s0)
                energy[keep_gap].append(e)
            assert np.all(np.isfinite(tr.predict(tr.dataset.x_test[:1])))
    for keep_gap, rtol, rel in ((True, 1e-2, 1e-3), (False, 3e-2, 5e-3)):
        a, b = moved[keep_gap]
        assert np.count_nonzero(np.abs(a) > 1e-3 * np.abs(a).max()) >= 10
        np.testing.assert_allclose(b, a, atol=1e-4 * np.abs(a).max(), rtol=rtol)
        e0, e1 = (e["programming_drivers"] for e in energy[keep_gap])
        assert e1 == pytest.approx(e0, rel=rel, abs=0)


@pytest.mark.slow
def test_column_groups_pulse_a_layer_in_parallel_sessions_with_the_same_state_changes():
    """pulse.column_groups = 2: each layer's columns dealt into two groups by slot count, each group's slots in a
    session of its own at the same time; the network takes the sum of the groups' state changes. The cells of
    the other group are half-selected (0.4 V, below vteam's threshold), so they do not move, and the state
    changes are those of one session per layer within the solver's time-point differences (two batches: within
    3 % of each change plus 1e-4 of the largest). The energy differs a little more (within 3 %, measured 2.1 %):
    in a group's slots the half-selected cells of the other group leak at their conductances from before the
    batch, and these tiny cells move far per pulse. Column groups need the layers transient."""
    from memcosim.trainers.ep_pulse import apply_pulses, column_groups

    c = np.array([[2, 0, -1, 0], [1, 0, 0, -2], [0, 0, 1, 0]])
    assert [g.tolist() for g in column_groups(c, 2)] == [[0, 3], [2]]
    assert [g.tolist() for g in column_groups(c, 1)] == [[0, 2, 3]]
    assert column_groups(np.zeros((3, 4), int), 2) == []
    moved, energy = [], []
    for groups in (1, 2):
        with EPTrainer(_pulse_config(column_groups=groups), _iris2()) as tr:
            s0 = tr.circuit.session.states.copy()
            counts = [np.random.default_rng(5).integers(-2, 3, a.shape) for a in tr.conductances]
            e: dict[str, float] = {}
            for _ in range(2):
                apply_pulses(tr.circuit, counts, tr.config.pulse, e)
            moved.append(tr.circuit.session.states - s0)
            energy.append(e["programming_drivers"])
            assert np.all(np.isfinite(tr.predict(tr.dataset.x_test[:1])))
    a, b = moved
    assert np.count_nonzero(np.abs(a) > 1e-3 * np.abs(a).max()) >= 10
    np.testing.assert_allclose(b, a, atol=1e-4 * np.abs(a).max(), rtol=3e-2)
    assert energy[1] == pytest.approx(energy[0], rel=3e-2, abs=0)
    with pytest.raises(ConfigError, match="pulse.column_groups"):
        PulseUpdateConfig(transient="network", column_groups=2)
    with pytest.raises(ConfigError, match="pulse.column_groups"):
        PulseUpdateConfig(column_groups=0)


def test_element_order_for_klu_keeps_the_operating_point():
    """The EP netlist in the order KLU factors fastest (reversed) solves to the same node voltages."""
    from memcosim.circuits.ep_network import build_programming_layer
    from memcosim.trainers.ep_circuit import CircuitNetwork

    config = _pulse_config().network
    g = config.initial_conductances()
    outs = []
    for klu_order in (False, True):
        c = CircuitNetwork(config, g, SessionOptions(worker=False), klu_order=klu_order)
        try:
            outs.append(c.free(np.array([0.2, 0.9, 0.4, 0.6])))
        finally:
            c.close()
    np.testing.assert_allclose(outs[1][0], outs[0][0], atol=1e-9)
    for a, b in zip(outs[1][1], outs[0][1]):
        np.testing.assert_allclose(a, b, atol=1e-9)
    layer = build_programming_layer(config, 1, g[1])
    assert [m.name for m in layer.netlist.memristors] == list(layer.layer.cells.ravel())
    with pytest.raises(ConfigError, match="conductances"):
        build_programming_layer(config, 1, g[0])
    with pytest.raises(ConfigError, match="network.programming"):
        build_programming_layer(dataclasses.replace(config, programming=None), 0, g[0])
    with pytest.raises(ConfigError, match="pulse.transient"):
        PulseUpdateConfig(transient="tiles")


@pytest.mark.slow
def test_gap_between_slots_is_left_out_without_changing_the_state_changes():
    """With every line at 0 V and no charge stored in the circuit, nothing moves in the gap between two slots:
    converged transients (5 ps steps, reltol 1e-6) of a layer's slots with and without the gap move every cell
    the same within 1e-9 of the largest change (measured 9e-13); at the trainer's slot steps (largest step half
    a pulse width, reltol 1e-3: other time points) within 3 % of the largest change (measured 1.5 %, median
    0.9 % of each cell's change), energy within 5e-3 (measured 2.1e-3). A circuit with a capacitor keeps its
    gap."""
    from memcosim.circuits.netlist import Netlist
    from memcosim.circuits.waveforms import slot_period, slot_train
    from memcosim.trainers.ep_pulse import apply_pulses, layer_slots, simulated_gap, slot_levels

    with EPTrainer(_pulse_config(), _iris2()) as tr:
        p = tr.config.pulse
        counts = [np.random.default_rng(7).integers(-2, 3, a.shape) for a in tr.conductances]
        session, layer = tr.circuit.programming_session(0)
        assert simulated_gap(p.gap, session.netlist) == 0.0 and not tr.circuit.network.netlist.stores_charge()
        slots = layer_slots(counts[0], p.set.amplitude, p.reset.amplitude)
        levels = slot_levels([{0: s} for s in slots], {0: layer}, "V/2")
        start = session.states.copy()
        converged = []
        for gap in (p.gap, 0.0):
            session.set_states(start)
            waves = {n: slot_train(v, p.set.width, p.set.rise, gap) for n, v in levels.items() if any(v)}
            session.run(_converged_tran, len(slots) * slot_period(p.set.width, p.set.rise, gap), p.set.rise, waves)
            converged.append(session.states - start)
        session.set_states(start)
        a, b = converged
        assert np.count_nonzero(np.abs(a) > 1e-3 * np.abs(a).max()) >= 6
        np.testing.assert_allclose(b, a, atol=1e-9 * np.abs(a).max())

        s0 = tr.circuit.session.states.copy()
        moved, energy = [], []
        for keep_gap in (True, False):
            tr.circuit.session.set_states(s0)
            e: dict[str, float] = {}
            apply_pulses(tr.circuit, counts, p, e, keep_gap=keep_gap)
            moved.append(tr.circuit.session.states - s0)
            energy.append(e)
        a, b = moved
        np.testing.assert_allclose(b, a, atol=0.03 * np.abs(a).max())
        assert energy[1]["programming_drivers"] == pytest.approx(energy[0]["programming_drivers"], rel=5e-3, abs=0)

    net = Netlist()
    net.capacitor("C1", "a", "0", 1e-15)
    assert net.stores_charge() and simulated_gap(2e-9, net) == 2e-9


def _converged_tran(session, stop: float, step: float, waves: dict) -> None:
    """A transient of ``waves`` in 5 ps steps at reltol 1e-6 (converged for the slots above); in the worker."""
    with session.solver_options(reltol=1e-6, vntol=1e-9):
        session.tran(stop, step, waveforms=waves, max_step=5e-12)


def test_a_netlist_stores_charge_in_capacitors_junctions_and_transistors():
    """Netlist.stores_charge: resistors, sources, memristors and diodes without junction charge store none
    (the EP network and its programming layers); a capacitor, a diode with cjo or tt, a MOSFET card, or a
    capacitor inside a sub-circuit do."""
    from memcosim.circuits.ep_network import build_ep_network, build_programming_layer
    from memcosim.circuits.netlist import Netlist

    config = _pulse_config().network
    assert not build_ep_network(config).netlist.stores_charge()
    assert not build_programming_layer(config, 0, config.initial_conductances()[0]).netlist.stores_charge()

    def netlist(**cards) -> Netlist:
        net = Netlist()
        net.resistor("R1", "a", "0", 1e3)
        net.voltage_source("V1", "a", "0", 1.0)
        for card, (kind, params) in cards.items():
            net.model_card(card, kind, **params)
        return net

    assert not netlist(d1=("D", {"is": 1e-9, "n": 1.0, "cjo": 0.0})).stores_charge()
    assert netlist(d1=("D", {"is": 1e-9, "cjo": 1e-15})).stores_charge()
    assert netlist(d1=("D", {"is": 1e-9, "tt": 1e-12})).stores_charge()
    assert netlist(m1=("nmos", {"level": 1})).stores_charge()
    net = netlist()
    net.subcircuit("hold", ".subckt hold a b\nC1 a b 1f\n.ends hold")
    assert net.stores_charge()
