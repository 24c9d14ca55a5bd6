"""The README's main job (`memcosim demo`, an EP run with ngspice in the loop) and the read demo."""

from __future__ import annotations

import json

import numpy as np

from memcosim.cli import main


def test_demo_trains_with_ngspice_and_writes_history_and_learning_curve(tmp_path, capsys):
    out = tmp_path / "ep"
    code = main(["demo", "--epochs", "2", "--hidden", "4", "--train-limit", "40", "--test-limit", "20",
                 "--no-baseline", "--out", str(out)])
    assert code == 0
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    for row in history:
        assert 0.0 <= row["test_acc"] <= 1.0 and np.isfinite(row["train_loss"])
        assert row["operating_points"] > 0  # ngspice solved the circuit
    # two operating points per training sample, one per test sample, each epoch
    assert history[-1]["operating_points"] >= 2 * (2 * 40 + 20)
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "epoch   1" in printed and "epoch   2" in printed


def test_read_demo_agrees_with_scipy_and_writes_its_files(tmp_path, capsys):
    out = tmp_path / "read"
    assert main(["read-demo", "--rows", "6", "--columns", "5", "--out", str(out)]) == 0
    rows = (out / "column_currents.csv").read_text().splitlines()
    assert len(rows) == 1 + 5
    header = rows[0].split(",")
    ngspice = np.array([float(r.split(",")[header.index("ngspice_A")]) for r in rows[1:]])
    scipy = np.array([float(r.split(",")[header.index("scipy_A")]) for r in rows[1:]])
    assert np.allclose(ngspice, scipy, rtol=1e-8, atol=0)  # the CSV keeps 10 significant digits
    assert (out / "ir_drop.png").read_bytes()[:4] == b"\x89PNG"
