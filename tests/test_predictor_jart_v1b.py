"""The pulse predictor's plan for ``jart_v1b`` (configs/predictor_jart_v1b.toml): growing read windows, moves
down only, the model's own default spreads; a tiny dataset that resumes, and a tiny training and deployment
in ngspice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from memcosim.config.array import DeviceConfig
from memcosim.config.pulse import PulseConfig
from memcosim.config.variation import ParameterVariationConfig, default_spreads, jart_v1b_spreads
from memcosim.devices.variation import Variation
from memcosim.errors import ConfigError
from memcosim.programming.predictor.config import (DatasetConfig, EvaluateConfig, TrainConfig, load_config, read_index,
                                                   read_time)
from memcosim.programming.predictor.dataset import PulseDataset, generate
from memcosim.programming.predictor.evaluate import evaluate
from memcosim.programming.predictor.train import train


def _tiny(out, samples: int, **kw) -> DatasetConfig:
    """The shipped jart_v1b plan, coarser and faster: RESET at -1.6 V, windows growing 1.3x, at most 32, the
    walk every 1 us."""
    settings = dict(device=DeviceConfig("jart_v1b", g_min=2e-5, g_max=6e-5), samples=samples,
                    set=PulseConfig(1.0, 10e-9, 0.05e-9), reset=PulseConfig(-1.6, 0.1e-9, 0.05e-9),
                    time_growth=1.3, up="none", max_steps=32, workers=1, shard_size=2, out=str(out),
                    parameter_variation=ParameterVariationConfig(interval=1e-6))
    return DatasetConfig(**{**settings, **kw})


def test_read_times_grow_geometrically_and_invert():
    k = np.arange(6)
    t = read_time(k, 1e-10, 1.15)
    np.testing.assert_allclose(np.diff(t), 1e-10 * 1.15 ** k[:-1])
    np.testing.assert_allclose(read_index(t, 1e-10, 1.15), k, atol=1e-9)
    np.testing.assert_allclose(read_index(torch.as_tensor(t), 1e-10, 1.15).numpy(), k, atol=1e-9)
    assert read_time(4, 1e-9, 1.0) == 4e-9 and read_index(4e-9, 1e-9, 1.0) == 4.0


def test_default_spreads_follow_the_model():
    shipped = load_config("configs/predictor_jart_v1b.toml").dataset
    assert shipped.variation.spreads == jart_v1b_spreads() and shipped.variation.interval == 100e-9
    assert list(DatasetConfig().variation.spreads) == ["rfil", "ldisc", "nmin", "nmax"]  # jart_vcm
    assert ParameterVariationConfig().spreads is None
    with pytest.raises(ConfigError, match="for_model"):
        Variation(ParameterVariationConfig(), ["N1"], {})
    with pytest.raises(ConfigError, match="'vteam' has no default spreads"):
        default_spreads("vteam")
    up = DatasetConfig(up="set_then_reset", set=PulseConfig(1.35, 10e-9, 0.2e-9), reset=PulseConfig(-1.05, 1e-9, 0.2e-9))
    pulses = up.write_pulses(True, 3e-9)
    assert [(p.amplitude, p.width) for p in pulses] == [(1.35, 10e-9), (-1.05, 3e-9)]
    assert [(p.amplitude, p.width) for p in up.write_pulses(False, 3e-9)] == [(-1.05, 3e-9)]
    with pytest.raises(ConfigError, match="dataset.up"):
        DatasetConfig(up="sideways")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[DatasetConfig, PulseDataset]:
    """4 noisy jart_v1b samples in two shards."""
    config = _tiny(tmp_path_factory.mktemp("v1b"), 4)
    return config, generate(config, progress=False)


@pytest.mark.slow
def test_v1b_dataset_moves_down_in_growing_windows_and_resumes(tiny):
    config, first = tiny
    out = Path(config.out)
    shards = sorted((out / "shards").glob("*.npz"))
    assert len(shards) == 2
    for i in range(len(first)):
        h, t = first.history(i), first.times(i)
        assert first.crossed[i] and first.g_target[i] < first.g_start[i] and first.time[i] < 0
        assert -first.time[i] == pytest.approx(t[first.steps[i]])
        np.testing.assert_allclose(np.diff(t), 0.1e-9 * 1.3 ** np.arange(h.size - 1))
        assert h[-1] < h[0]
    back = PulseDataset.load(out / "dataset.npz")
    assert back.growth == 1.3 and np.array_equal(back.histories, first.histories)
    stamp = [p.stat().st_mtime_ns for p in shards]
    more = generate(_tiny(out, 5), progress=False)  # both full shards are reused, one sample is new
    assert [p.stat().st_mtime_ns for p in shards] == stamp and len(more) == 5
    assert np.array_equal(more.subset(np.arange(4)).histories, first.histories)


@pytest.mark.slow
def test_v1b_tiny_training_and_deployment_in_ngspice(tiny, tmp_path):
    config, data = tiny
    data = PulseDataset.concatenate([data] * 6, {})  # enough to split 80/10/10
    summary = train(data, config, TrainConfig(epochs=3, finetune_epochs=1, kernels=[3, 1], batch_size=8, grid=1e-11,
                                              out=str(tmp_path / "model")), progress=False)
    assert summary["finetuned_best_val_g_rpd"] <= summary["mse_val_g_rpd"]
    ev = EvaluateConfig(attempts=2, workers=1, conventional=PulseConfig(0.0, 50e-9, 0.05e-9), conventional_budget=4,
                        out=str(tmp_path / "evaluation"))
    result = evaluate(config, ev, tmp_path / "model", progress=False)
    assert result["attempts"] == 2 and result["predictor_wv"]["mean_pulses"] <= 3
    for name in ("baseline", "mse", "finetuned"):
        assert 0.0 <= result[f"one_shot_{name}"]["within_50%"] <= 1.0
    rows = (tmp_path / "evaluation" / "attempts.csv").read_text().splitlines()
    assert len(rows) == 3


def test_dataset_fingerprint_covers_the_models_pulse_time_steps(monkeypatch):
    import dataclasses

    from memcosim.programming.predictor import config as predictor_config

    config = DatasetConfig()
    before = config.fingerprint()
    preset = config.preset
    monkeypatch.setattr(predictor_config, "get_preset", lambda model: dataclasses.replace(preset, step=1e-9))
    assert config.fingerprint() != before  # shards integrated with other time steps are not reused
