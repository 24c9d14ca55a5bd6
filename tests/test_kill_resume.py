"""Kill a short EP training run (``memcosim train`` in a subprocess) at random points and resume it.

The resumed run must end with the same device states, weights, counters and accuracy history as a
run that was never interrupted, and the checkpoint on disk must load after every kill (it is
written to a temporary file and renamed, so it is never half-written). SIGKILL gives no warning:
the run resumes from its last epoch checkpoint. SIGTERM is caught: the batch in progress finishes,
a mid-epoch checkpoint is written and the run resumes from inside the epoch.

``MEMCOSIM_KILL_POINTS`` (default 2) sets how many SIGKILLs the test delivers; the kill points tried
and survived are printed (``pytest -s``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

import pytest

KILLS = int(os.environ.get("MEMCOSIM_KILL_POINTS", "2"))
RUN = """
[train]
dataset = "iris"
epochs = 4
train_limit = 30
test_limit = 12
lr = 1.0
layer_lr = [0.01, 1.0]
beta = 1e-6
progress = false
seed = 5
[network]
sizes = [4, 4, 3]
gain = 10.0
diode_bias = -0.2
v_input = 0.5
v_bias = 0.5
g_init = [1e-6, 1e-4]
[network.device]
model = "vteam"
[network.wires]
r_row = 1.0
r_column = 1.0
"""


class Run:
    """One ``memcosim train`` process; ``started`` is set when it prints its first line."""

    def __init__(self, config: Path, checkpoint: Path, out: Path, resume: bool):
        cmd = [sys.executable, "-m", "memcosim.cli", "train", str(config), "--checkpoint", str(checkpoint),
               "--out", str(out), "--no-progress"] + (["--resume", str(checkpoint)] if resume else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.started = threading.Event()
        self.lines: list[str] = []
        self.epoch_lines = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("epoch"):
                self.epoch_lines += 1
            self.started.set()
        self.started.set()

    def wait(self, timeout: float = 300) -> tuple[int, str]:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code, self.proc.stderr.read()


def _load(path: Path) -> tuple[dict, dict]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {k: data[k].copy() for k in data.files if k != "meta"}
    return meta, arrays


def _same_result(a: Path, b: Path) -> None:
    (meta_a, arr_a), (meta_b, arr_b) = _load(a), _load(b)
    assert meta_a["epoch"] == meta_b["epoch"] and meta_a["position"] is None and meta_b["position"] is None
    assert sorted(arr_a) == sorted(arr_b) and "state_device_states" in arr_a
    for k in arr_a:
        assert np.array_equal(arr_a[k], arr_b[k]), k
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa: E731
    assert strip(meta_a["history"]) == strip(meta_b["history"])
    assert meta_a["rng"] == meta_b["rng"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path, float]:
    """The uninterrupted run (in this process, as the CLI does it): config, final checkpoint, seconds."""
    from memcosim.trainers.config import load_run_config
    from memcosim.trainers.ep import EPTrainer

    root = tmp_path_factory.mktemp("reference")
    config = root / "run.toml"
    config.write_text(RUN)
    run = load_run_config(config)
    run.train.checkpoint = str(root / "ref.npz")
    t0 = time.monotonic()
    with EPTrainer(run) as trainer:
        trainer.fit(log=None)
    return config, root / "ref.npz", time.monotonic() - t0


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_gives_the_uninterrupted_result(tmp_path, reference):
    config, ref_ck, _ = reference
    epoch_seconds = float(np.mean([row["seconds"] for row in _load(ref_ck)[0]["history"]]))
    epochs = _load(ref_ck)[0]["epoch"]
    rng = np.random.default_rng(int(time.time()))
    tried = survived = runs = chains = 0
    while tried < KILLS:  # chains of kill and resume, each from scratch to the end
        chains += 1
        ck = tmp_path / f"ck{chains}.npz"
        killed_here = 0
        while True:
            runs += 1
            done = _load(ck)[0]["epoch"] if ck.exists() else 0
            run = Run(config, ck, tmp_path / "out", resume=ck.exists())
            assert run.started.wait(300)
            if tried < KILLS and done < epochs:
                # a random point of the training still to do: after k more epochs, a fraction f into the next
                k, f = int(rng.integers(0, epochs - done)), float(rng.uniform(0.0, 1.0))
                while run.epoch_lines < k and run.proc.poll() is None:
                    time.sleep(0.002)
                time.sleep(f * epoch_seconds)
                if run.proc.poll() is None:
                    run.proc.send_signal(signal.SIGKILL)
                    run.wait()
                    tried += 1
                    killed_here += 1
                    if ck.exists():  # whatever epoch it holds, it is a whole checkpoint
                        meta, arrays = _load(ck)
                        assert meta["position"] is None and "state_device_states" in arrays
                    continue
            code, err = run.wait()
            assert code == 0, err
            break
        _same_result(ref_ck, ck)
        survived += killed_here
    print(f"\nSIGKILL points tried: {tried}, survived (checkpoint whole, resumed to the same result): "
          f"{survived}; chains from scratch: {chains}; processes started: {runs}")
    assert tried >= 1 and survived == tried


@pytest.mark.slow
def test_sigterm_writes_a_mid_epoch_checkpoint_and_the_resumed_run_matches(tmp_path, reference):
    config, ref_ck, _ = reference
    ck = tmp_path / "ck.npz"
    run = Run(config, ck, tmp_path / "out", resume=False)
    assert run.started.wait(300)
    # stop inside the second epoch: once the first epoch's checkpoint is on disk (the run has passed
    # the epoch boundary, where a signal would give an epoch checkpoint), a little later
    deadline = time.monotonic() + 300
    while not ck.exists() and time.monotonic() < deadline and run.proc.poll() is None:
        time.sleep(0.002)
    time.sleep(0.05)
    run.proc.send_signal(signal.SIGTERM)
    code, err = run.wait()
    assert code == 143 and "interrupted by SIGTERM" in err and "resume with --resume" in err, (code, err)
    meta, _ = _load(ck)
    assert meta["epoch"] == 1 and meta["position"] is not None and meta["position"]["batch"] > 0
    code, err = Run(config, ck, tmp_path / "out", resume=True).wait()
    assert code == 0, err
    _same_result(ref_ck, ck)
