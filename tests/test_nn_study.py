"""Torch model studies ([nn]): one trained model on every point's tiles, real ngspice; resume, external scheduler,
bad study files; the ADC range fit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from memcosim.errors import ConfigError
from memcosim.hardware_aware.model import HardwareConfig, adc_quantize, fit_adc_full_scale
from memcosim.studies.config import study_from_text
from memcosim.studies.plots import study_plots
from memcosim.studies.run import ResultStore, run_study

STUDY = """\
[study]
name = "tiny_nn"
seed = 0
workers = 0
samples = 10
calibration = 0
connect_timeout = 2.0

[network]
dataset = "digits"
hidden = [6]
epochs = 3
hw_epochs = 1
lr = 0.01
calibration_samples = 64

[nn]
adc_fit = "mse"

[arrays]
dac = {bits = 8, r_out = 1.0}

[defaults]
size = 16
r_wire = 2.5
adc_bits = 6

[grid]
adc_bits = [4, 8]
"""


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("nn_serial")
    messages: list[str] = []
    run = run_study(study_from_text(STUDY), out, progress=False, log=messages.append)
    return out, run, messages


@pytest.mark.slow
def test_a_tiny_nn_study_reads_one_trained_model_on_tiles_in_ngspice(serial):
    """digits 64-6-10 on 16x16 tiles (4 + 2 tiles), 4- and 8-bit ADCs: trained once, ngspice close to torch."""
    out, run, messages = serial
    assert len(run.computed) == 2 and not run.failed
    assert (out / "model.pt").is_file() and any("trained model written" in m for m in messages)
    t = pd.read_csv(out / "results.csv")
    assert t["adc_bits"].tolist() == [4, 8] and (t["arrays"] == 4 + 2).all() and (t["samples"] == 10).all()
    assert (t["operating_points"] == 10 * 6).all()
    assert t["software_accuracy"].nunique() == 1  # one shared model
    assert (t["prediction_agreement"] >= 0.8).all()  # ngspice (2.5 ohm wires) predicts as the torch hardware mode
    se = np.sqrt(t["deployed_accuracy"] * (1 - t["deployed_accuracy"]) / 10)
    assert np.allclose(t["deployed_standard_error"], se)
    assert {p.name for p in study_plots(study_from_text(STUDY), out, log=None)} == {"accuracy_vs_adc.png"}


@pytest.mark.slow
def test_a_rerun_resumes_with_only_the_missing_point_and_the_same_model(serial, tmp_path):
    out, _, _ = serial
    import shutil

    shutil.copytree(out, tmp_path / "out")
    study = study_from_text(STUDY)
    store = ResultStore(study, tmp_path / "out")
    model = (tmp_path / "out" / "model.pt").read_bytes()
    store.path(store.keys[1]).unlink()  # as if the run had stopped after the first point
    messages: list[str] = []
    run = run_study(study, tmp_path / "out", progress=False, log=messages.append)
    assert run.skipped == [store.keys[0]] and run.computed == [store.keys[1]]
    assert (tmp_path / "out" / "model.pt").read_bytes() == model
    assert any(m.startswith("trained model: ") for m in messages)  # loaded, not trained again
    assert pd.read_csv(tmp_path / "out" / "results.csv").equals(pd.read_csv(out / "results.csv"))
    again = run_study(study, tmp_path / "out", progress=False)
    assert again.computed == [] and len(again.skipped) == 2


@pytest.mark.slow
def test_the_same_study_on_a_running_dask_scheduler_gives_the_serial_table(serial, tmp_path):
    """A Dask scheduler with one worker process started apart from the study (as `dask scheduler` / `dask worker`)."""
    from distributed import LocalCluster

    out, _, _ = serial
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run = run_study(study_from_text(STUDY), tmp_path, scheduler=cluster.scheduler_address, progress=False)
    assert len(run.computed) == 2
    cols = ["adc_bits", "software_accuracy", "hardware_model_accuracy", "deployed_accuracy", "prediction_agreement"]
    assert pd.read_csv(tmp_path / "results.csv")[cols].equals(pd.read_csv(out / "results.csv")[cols])


def test_unreachable_scheduler_is_an_error_before_the_model_is_trained(tmp_path):
    with pytest.raises(ConfigError, match=r"study.scheduler: cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        run_study(study_from_text(STUDY), tmp_path, scheduler="tcp://127.0.0.1:9", progress=False)
    assert not (tmp_path / "model.pt").exists()


@pytest.mark.parametrize("old, new, field, message", [
    ("adc_bits = [4, 8]", 'adc_bits = [4, 8]\nmethod = ["plain", "hw_aware"]', "method",
     "may differ only in size, r_wire, dac_bits, adc_bits"),
    ("adc_bits = [4, 8]", "size = [16, 2048]", "size", "2048 x 2048 = 4,194,304 cells is over the limit"),
    ('adc_fit = "mse"', 'adc_fit = "best"', "nn.adc_fit", "quantile"),
    ("[grid]", "[plots]\nir_drop = [{size = 16}]\n\n[grid]", "plots.ir_drop", "drop plots.ir_drop"),
    ("[nn]", "[read]\n\n[nn]", "nn", "not both"),
])
def test_bad_nn_study_files_name_the_field_before_any_work(old, new, field, message):
    with pytest.raises(ConfigError) as info:
        study_from_text(STUDY.replace(old, new, 1), "s.toml")
    assert field in str(info.value) and message in str(info.value), str(info.value)


def test_mse_fit_narrows_the_adc_range_at_few_bits_and_keeps_it_at_many():
    """Column sums with a long tail: at 3 bits the least-squares range clips the tail and lowers the error."""
    g = torch.Generator().manual_seed(0)
    sums = torch.rand(400, 2, 8, generator=g) ** 4 * 10.0
    signed = sums[:, 0] - sums[:, 1]

    def error(hw: HardwareConfig, bits: int) -> float:
        fs = fit_adc_full_scale(sums, hw)
        q = adc_quantize(sums, fs, bits)
        return float(((q[:, 0] - q[:, 1]) - signed).square().mean())

    for bits, narrower in ((3, True), (12, False)):
        quantile = HardwareConfig(adc=HardwareConfig().adc.__class__(bits=bits))
        mse = HardwareConfig(adc=quantile.adc, adc_fit="mse")
        assert (float(fit_adc_full_scale(sums, mse)) < 0.9 * float(fit_adc_full_scale(sums, quantile))) == narrower
        assert error(mse, bits) <= error(quantile, bits) + 1e-12
    assert not math.isnan(float(fit_adc_full_scale(sums, HardwareConfig(adc_fit="mse"))))
