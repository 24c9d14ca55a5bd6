"""The neural pulse predictor: dataset from ngspice, network, fine-tuning maths, saving and loading, CLI config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from memcosim.cli import main as cli_main
from memcosim.config import toml
from memcosim.config.pulse import PulseConfig
from memcosim.errors import ConfigError
from memcosim.programming.predictor.config import DatasetConfig, TrainConfig, load_config
from memcosim.programming.predictor.dataset import PulseDataset, generate
from memcosim.programming.predictor.model import PredictorPolicy, PulsePredictor, Scaling
from memcosim.programming.predictor.train import reached, train

ARRAYS = ("g_start", "g_target", "g_requested", "time", "crossed", "steps", "histories", "offsets")


def _same(a: PulseDataset, b: PulseDataset) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ARRAYS)


@pytest.fixture(scope="module")
def quiet_set(tmp_path_factory) -> PulseDataset:
    """12 noise-free samples (the same dataset config as the default, fewer samples)."""
    out = tmp_path_factory.mktemp("quiet")
    return generate(DatasetConfig(samples=12, noise=False, workers=1, shard_size=5, out=str(out)), progress=False)


def test_noise_free_dataset_is_reproducible_bit_for_bit_from_its_seed(quiet_set, tmp_path):
    again = generate(DatasetConfig(samples=4, noise=False, workers=1, shard_size=4, out=str(tmp_path / "a")),
                     progress=False)
    assert _same(again, quiet_set.subset(np.arange(4)))  # other shard layout, other session: same bits
    other = generate(DatasetConfig(samples=4, noise=False, seed=9, workers=1, out=str(tmp_path / "b")), progress=False)
    assert not np.array_equal(other.g_target, again.g_target)
    loaded = PulseDataset.load(tmp_path / "a" / "dataset.npz")
    assert _same(loaded, again)
    # every sample: the label ends at the read closest to the target, and the history runs to 2x the label
    for i in range(len(quiet_set)):
        h = quiet_set.history(i)
        k = int(quiet_set.steps[i])
        assert quiet_set.crossed[i] and h.size - 1 >= 2 * k
        assert quiet_set.time[i] == pytest.approx(np.sign(quiet_set.g_target[i] - h[0]) * k * 10e-9)
        near = np.abs(h[max(k - 1, 1):k + 2] - quiet_set.g_target[i])
        assert abs(h[k] - quiet_set.g_target[i]) <= near.min() + 1e-18
        assert np.all(np.diff(h) * np.sign(quiet_set.time[i]) >= 0)  # noise-free: monotone under one polarity


@pytest.mark.slow
def test_dataset_with_noise_is_reproducible_and_resumes_from_its_shards(tmp_path):
    config = DatasetConfig(samples=3, workers=1, shard_size=2, out=str(tmp_path))
    first = generate(config, progress=False)
    shards = sorted((tmp_path / "shards").glob("*.npz"))
    assert len(shards) == 2
    stamp = [p.stat().st_mtime_ns for p in shards]
    again = generate(config, progress=False)  # everything cached: nothing is simulated again
    assert [p.stat().st_mtime_ns for p in shards] == stamp and _same(first, again)
    fresh = generate(DatasetConfig(samples=3, workers=1, shard_size=3, out=str(tmp_path / "fresh")), progress=False)
    assert _same(first, fresh)


@pytest.fixture(scope="module")
def trained(quiet_set, tmp_path_factory) -> tuple[Path, dict]:
    """Both predictors trained (briefly) on the noise-free samples."""
    out = tmp_path_factory.mktemp("model")
    data = PulseDataset.concatenate([quiet_set] * 3, {})  # 36 samples: enough to split 80/10/10
    config = TrainConfig(epochs=3, finetune_epochs=1, kernels=[11, 1], batch_size=8, out=str(out))
    return out, train(data, DatasetConfig(noise=False), config, progress=False)


def test_predictor_trains_saves_and_loads_with_the_same_outputs(trained, tmp_path):
    model_dir, summary = trained
    assert summary["train"] + summary["validation"] + summary["test"] == 36
    assert (model_dir / "training.csv").exists() and (model_dir / "training.png").exists()
    g0 = np.geomspace(1.2e-5, 8e-5, 7)
    g1 = g0[::-1].copy()
    for name in ("predictor_mse.pt", "predictor_finetuned.pt"):
        model = PulsePredictor.load(model_dir / name)
        again = PulsePredictor.load(model_dir / name)
        np.testing.assert_array_equal(model.predict(g0, g1), again.predict(g0, g1))
        assert np.all(np.isfinite(model.predict(g0, g1)))
    fresh = PulsePredictor(Scaling(1e-5, 9e-5, 10e-9, 2e-6), seed=4)
    path = fresh.save(tmp_path / "fresh.pt", {"note": "untrained"})
    back = PulsePredictor.load(path)
    np.testing.assert_array_equal(fresh.predict(g0, g1), back.predict(g0, g1))
    assert back.info == {"note": "untrained"}
    with pytest.raises(ConfigError, match="no predictor file"):
        PulsePredictor.load(tmp_path / "missing.pt")


def test_time_scaling_round_trips_and_stays_in_the_unit_interval():
    s = Scaling(1e-5, 9e-5, 10e-9, 2e-6)
    t = np.array([-2e-6, -3e-7, -1e-8, 0.0, 1e-8, 5e-7, 2e-6])
    y = s.encode_time(t)
    assert np.all((y >= 0) & (y <= 1)) and y[3] == 0.5
    np.testing.assert_allclose(s.decode_time(y), t, rtol=1e-12, atol=1e-20)
    x = s.inputs([1e-5, 9e-5], [9e-5, 1e-5]).numpy()
    np.testing.assert_allclose(x, [[0, 1], [1, 0]], atol=1e-6)


def test_reached_conductance_interpolates_inside_and_clamps_value_but_not_gradient_outside():
    hist = torch.tensor([[0.0, 0.1, 0.3, 0.6, 0.6], [1.0, 0.8, 0.5, 0.5, 0.5]])
    lengths = torch.tensor([4, 3])  # the second row is padded with its end value
    direction = torch.tensor([1.0, -1.0])
    t = torch.tensor([2.5e-9, -1.5e-9], requires_grad=True)
    u = reached(hist, lengths, direction, t, 1e-9)
    np.testing.assert_allclose(u.detach().numpy(), [0.45, 0.65], atol=1e-6)
    u.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), [0.3e9, 0.3e9], rtol=1e-5)  # local slopes (RESET: sign flips)
    t2 = torch.tensor([9e-9, 2e-9], requires_grad=True)  # beyond the end, and the wrong sign for RESET
    u2 = reached(hist, lengths, direction, t2, 1e-9)
    np.testing.assert_allclose(u2.detach().numpy(), [0.6, 1.0], atol=1e-6)  # clamped values
    u2.sum().backward()
    np.testing.assert_allclose(t2.grad.numpy(), [0.3e9, 0.2e9], rtol=1e-5)  # end slopes still pull back


def test_predictor_policy_picks_the_polarity_of_the_change():
    model = PulsePredictor(Scaling(1e-5, 9e-5, 10e-9, 2e-6), seed=0)
    policy = PredictorPolicy(model, 1.35, -1.05)
    up = policy.next_pulse(2e-5, 5e-5, [])
    down = policy.next_pulse(5e-5, 2e-5, [])
    assert up.amplitude == 1.35 and down.amplitude == -1.05
    assert policy.min_width <= up.width <= policy.max_width and policy.min_width <= down.width <= policy.max_width


def test_config_from_toml_and_bad_values_name_the_field(tmp_path):
    good = tmp_path / "p.toml"
    good.write_text('[dataset]\nsamples = 50\nnoise = false\n[dataset.parameter_variation]\nseed = 3\n'
                    '[dataset.parameter_variation.spreads.rfil]\nd2d = 0.01\nc2c = 0.001\n[train]\nkernels = [101, 1]\n'
                    '[evaluate]\nattempts = 7\n')
    c = load_config(good)
    assert c.dataset.samples == 50 and not c.dataset.noise and c.train.kernels == [101, 1]
    assert c.dataset.parameter_variation.seed == 3 and list(c.dataset.parameter_variation.spreads) == ["rfil"]
    assert c.dataset.window == (1e-5, 9e-5) and c.evaluate.attempts == 7  # the jart_vcm preset's
    assert (c.dataset.amplitude(True), c.dataset.amplitude(False), c.dataset.v_read, c.dataset.step) == \
        (1.35, -1.05, 0.2, 10e-9)
    for text, field in (('[train]\nepochz = 3\n', "train.epochz"),
                        ('[dataset.device]\ng_min = 1e-3\n', "dataset.device.g_min"),
                        ('[dataset.set]\namplitude = 2.5\n', "dataset.set.amplitude"),
                        ('[dataset.reset]\nwidth = 2e-9\n', "dataset.reset.width"),
                        ('[dataset.device]\nmodel = "resistor"\n', "dataset.device.model"),
                        ('[dataset.device.params]\nrfil = 1e-9\n', "dataset.device.params"),
                        ('[evaluate.conventional]\namplitude = 1.0\n', "evaluate.conventional.amplitude"),
                        ('[train]\nkernels = [100]\n', "train.kernels[0]"), ('[nets]\n', "nets"),
                        ('[evaluate]\nbaseline_amplitudes = [[1.6, -1.0]]\n', "evaluate.baseline_amplitudes[0]"),
                        ('[evaluate]\nbaseline_amplitudes = [[1.4]]\n', "evaluate.baseline_amplitudes[0]"),
                        ('[evaluate]\nbaseline_amplitudes = 1.4\n', "evaluate.baseline_amplitudes")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError) as err:
            load_config(bad)
        assert err.value.field == field


def test_cli_predictor_reports_bad_input_and_missing_stages(tmp_path, capsys):
    cfg = tmp_path / "p.toml"
    cfg.write_text(f'[dataset]\nout = "{tmp_path / "ds"}"\n[train]\nout = "{tmp_path / "m"}"\n')
    assert cli_main(["predictor", "dataset", "--config", str(cfg), "--samples", "0"]) == 2
    assert "dataset.samples" in capsys.readouterr().err
    assert cli_main(["predictor", "train", "--config", str(cfg)]) == 2
    assert "memcosim predictor dataset" in capsys.readouterr().err
    assert cli_main(["predictor", "evaluate", "--config", str(cfg)]) == 2
    assert "memcosim predictor train" in capsys.readouterr().err


def test_deployment_in_ngspice_writes_the_figures_and_keeps_to_the_iteration_limit(trained, tmp_path):
    from memcosim.programming.predictor.config import EvaluateConfig
    from memcosim.programming.predictor.evaluate import evaluate

    model_dir, _ = trained
    short = DatasetConfig(max_steps=20)  # the noise-free baseline is recorded over 2 x 20 x 10 ns only
    # the conventional runs also at the dataset's own pair (the same device and noise: the same runs) and at 1.5 V
    config = EvaluateConfig(attempts=2, workers=1, conventional_budget=15, out=str(tmp_path),
                            baseline_amplitudes=[[1.35, -1.05], [1.5, -1.25]])
    summary = evaluate(short, config, model_dir, progress=False)
    assert summary["attempts"] == 2
    for name in ("baseline", "mse", "finetuned"):
        assert 0.0 <= summary[f"one_shot_{name}"]["within_50%"] <= 1.0
    assert summary["predictor_wv"]["mean_pulses"] <= 3 and summary["conventional_wv"]["mean_pulses"] <= 15
    for f in ("attempts.csv", "summary.json", "rpd_histogram.png", "rpd_vs_conductance.png", "write_verify.png",
              "baselines.png"):
        assert (tmp_path / f).stat().st_size > 0
    rows = (tmp_path / "attempts.csv").read_text().splitlines()
    assert len(rows) == 3 and "predictor_wv_reason" in rows[0] and "fixed_wv_at_1.5_-1.25_pulses" in rows[0]
    table = {(b["kind"], b["set_amplitude"]): b for b in summary["baselines"]}
    assert set(table) == {("fixed", 1.35), ("ispp", 1.35), ("fixed", 1.5), ("ispp", 1.5)}
    for kind, name in (("fixed", "fixed_wv"), ("ispp", "conventional_wv")):
        same = table[(kind, 1.35)]
        assert same["mean_pulses"] == summary[name]["mean_pulses"]
        assert same["mean_pulse_time_s"] == summary[name]["mean_pulse_time_s"]
        assert summary[f"best_{kind}"]["kind"] == kind


def test_best_baseline_is_the_fastest_that_reaches_the_success_rate():
    from memcosim.programming.predictor.evaluate import best_baseline

    rows = [{"within_tolerance": 1.0, "mean_pulse_time_s": 2e-7}, {"within_tolerance": 0.9, "mean_pulse_time_s": 5e-8},
            {"within_tolerance": 0.97, "mean_pulse_time_s": 8e-8}]
    assert best_baseline(rows) is rows[2]  # the 50 ns one fails too often
    assert best_baseline(rows, success=0.99) is rows[0]
    assert best_baseline(rows[1:2]) is rows[1]  # none good enough: the fastest of all


def test_dataset_walk_advances_per_10_ns_of_pulse_time_whatever_the_step(tmp_path):
    # the same device and walk read every 5 ns instead of every 10 ns: every other read agrees
    coarse = generate(DatasetConfig(samples=2, workers=1, max_steps=8, out=str(tmp_path / "c")), progress=False)
    fine = generate(DatasetConfig(samples=2, set=PulseConfig(0.0, 5e-9, 0.2e-9), reset=PulseConfig(0.0, 5e-9, 0.2e-9),
                                  max_steps=16, workers=1, out=str(tmp_path / "f")),
                    progress=False)
    np.testing.assert_array_equal(coarse.g_target, fine.g_target)
    for i in range(2):
        a, b = coarse.history(i), fine.history(i)[::2]
        n = min(a.size, b.size)
        assert n >= 3
        np.testing.assert_allclose(b[:n], a[:n], rtol=2e-3)


def test_smoothing_keeps_each_history_start_end_and_monotonicity():
    from memcosim.programming.predictor.train import Histories

    h = Histories.__new__(Histories)
    h.raw = np.array([[0.0, 0.1, 0.5, 0.9, 1.0, 1.0, 1.0], [1.0, 0.9, 0.7, 0.2, 0.1, 0.05, 0.0]])
    h.lengths = np.array([5, 7])  # row 0 is padded with its end value after 5 points
    for kernel in (1, 3, 101):
        s = h.smoothed(kernel)
        np.testing.assert_allclose(s[:, 0], h.raw[:, 0])
        np.testing.assert_allclose(s[[0, 1], h.lengths - 1], h.raw[[0, 1], h.lengths - 1])
        assert np.all(np.diff(s[0]) >= 0) and np.all(np.diff(s[1]) <= 0)
    assert h.smoothed(3)[0, 2] == pytest.approx(0.5)  # (0.1 + 0.5 + 0.9) / 3


def test_predictor_policy_aim_stops_inside_the_band_on_the_near_side():
    from memcosim.programming.predictor.model import NoiseFreeBaseline

    t = np.linspace(0.0, 1e-6, 11)
    g = np.geomspace(1e-5, 1e-4, 11)
    trajectory = NoiseFreeBaseline(t, g, t, g[::-1].copy())  # synthetic SET and RESET trajectories
    centre = PredictorPolicy(trajectory, 1.35, -1.05)
    near = PredictorPolicy(trajectory, 1.35, -1.05, aim=0.05)
    for g_now, g_target in ((2e-5, 5e-5), (5e-5, 2e-5)):
        a, b = centre.next_pulse(g_now, g_target, []), near.next_pulse(g_now, g_target, [])
        assert a.amplitude == b.amplitude and b.width < a.width
        aimed = g_target * (0.95 if g_target > g_now else 1.05)
        assert b.width == pytest.approx(abs(trajectory.predict(g_now, aimed)[0]))
    with pytest.raises(ConfigError) as err:
        PredictorPolicy(trajectory, 1.35, -1.05, aim=0.6)
    assert err.value.field == "policy.aim"


OLD_DEFAULTS = """[dataset]
model = "jart_vcm"
g_low = 1e-05
g_high = 9e-05
set_amplitude = 1.35
reset_amplitude = -1.05
step = 1e-08
[dataset.variation]
seed = 2
[evaluate]
conventional_width = 1e-08
"""


def test_old_predictor_files_read_as_their_new_keys(tmp_path):
    from memcosim.programming.predictor.config import PredictorConfig

    old = tmp_path / "old.toml"
    old.write_text(OLD_DEFAULTS)
    new = tmp_path / "new.toml"
    new.write_text(NEW_DEFAULTS)
    with pytest.warns(toml.ConfigWarning) as caught:
        config = load_config(old)
    assert config == load_config(new)
    d = PredictorConfig().dataset  # the defaults are these values
    assert (d.window, d.amplitude(True), d.amplitude(False), d.step, d.device.model) == \
        ((1e-5, 9e-5), 1.35, -1.05, 1e-8, "jart_vcm")
    assert PredictorConfig().evaluate.conventional.width == config.evaluate.conventional.width == 1e-8
    messages = " ".join(str(w.message) for w in caught)
    for old_key, new_key in (("dataset.model", "dataset.device.model"), ("dataset.g_low", "dataset.device.g_min"),
                             ("dataset.set_amplitude", "dataset.set.amplitude"),
                             ("dataset.step", "dataset.set.width` and `dataset.reset.width"),
                             ("dataset.variation", "dataset.parameter_variation"),
                             ("evaluate.conventional_width", "evaluate.conventional.width")):
        assert f"`{old_key}` was renamed to `{new_key}`" in messages
    # the shipped fast config before the rename reads as the shipped one now
    fast = Path(__file__).parent.parent / "configs" / "predictor_fast.toml"
    old.write_text(OLD_FAST)
    with pytest.warns(toml.ConfigWarning):
        assert load_config(old) == load_config(fast)


NEW_DEFAULTS = """[dataset]
device = {model = "jart_vcm", g_min = 1e-05, g_max = 9e-05}
set = {amplitude = 1.35, width = 1e-08}
reset = {amplitude = -1.05, width = 1e-08}
parameter_variation = {seed = 2}
[evaluate]
conventional = {width = 1e-08}
"""

OLD_FAST = """[dataset]
samples = 3000
set_amplitude = 1.5
reset_amplitude = -1.25
step = 1e-9
max_steps = 300
workers = 1
out = "out/predictor_fast/dataset"

[train]
grid = 1e-10
out = "out/predictor_fast/model"

[evaluate]
attempts = 200
aim = 0.5
baseline_amplitudes = [[1.35, -1.05], [1.4, -1.1], [1.45, -1.2], [1.5, -1.2], [1.5, -1.25], [1.5, -1.3]]
workers = 1
out = "out/predictor_fast/evaluation"
"""
