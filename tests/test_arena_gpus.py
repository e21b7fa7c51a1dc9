"""GPU-aware cells: a model class that declares ``uses_gpu = True`` gets one device per cell
(``CUDA_VISIBLE_DEVICES`` in its worker), devices are counted as a resource (``--gpus N``), and
without a device its cells run on the CPU with a note in the row and one line of output.

No GPU is needed: the device counts are given (``--gpus``), and what a test checks is what
the worker was told, which is all bench decides."""

from __future__ import annotations

import io

import pytest

from benchmark.engine import gpu_devices
from benchmark.runner import RunOptions, run_suite

GPU_PLUGIN = '''
import os, time
import numpy as np
from benchmark.api import ModelSpec, RatingModel, hookimpl


class Mean(RatingModel):
    """The global mean; its info says which devices its worker was given, and when it ran."""

    def fit(self, train):
        self.started_ = time.time()
        self.mean_ = float(train.ratings["rating"].mean())
        time.sleep(0.3)  # long enough for two cells given at once to overlap
        return self

    def predict(self, users, items):
        return np.full(len(users), self.mean_)

    def info(self):
        return {"visible": os.environ.get("CUDA_VISIBLE_DEVICES"), "started": self.started_,
                "ended": time.time()}


class GpuMean(Mean):
    uses_gpu = True


@hookimpl
def bench_models():
    return [ModelSpec("gpu-mean", {"rating": GpuMean}), ModelSpec("cpu-mean", {"rating": Mean})]
'''

SUITE = """name: gpus
split: {method: kfold, k: 4}
plugins: [gpumean.py]
datasets: [{name: synthetic-ratings, options: {n_users: 30, n_items: 20, density: 0.3}}]
models: [gpu-mean, cpu-mean]
metrics: [rmse]
"""


def _run(tmp_path, monkeypatch, gpus, jobs):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    (tmp_path / "gpumean.py").write_text(GPU_PLUGIN)
    (tmp_path / "suite.yaml").write_text(SUITE)
    stream = io.StringIO()
    result = run_suite(tmp_path / "suite.yaml", RunOptions(out=tmp_path / f"out{gpus}", jobs=jobs, gpus=gpus),
                       stream=stream)
    rows = {model: [r for r in result.rows if r["model"] == model] for model in ("gpu-mean", "cpu-mean")}
    assert all(r["status"] == "ok" for rs in rows.values() for r in rs), [r.get("error") for r in result.rows]
    return rows, stream.getvalue()


def test_each_gpu_cell_sees_one_device_and_no_more_run_at_once_than_devices(tmp_path, monkeypatch):
    rows, _ = _run(tmp_path, monkeypatch, gpus=2, jobs=3)
    gpu = rows["gpu-mean"]
    assert {r["model_info"]["visible"] for r in gpu} <= {"0", "1"}
    assert all(r["model_info"]["device"] == f"cuda:{r['model_info']['visible']}" for r in gpu)
    for device in ("0", "1"):  # the cells of one device never overlapped
        spans = sorted((r["model_info"]["started"], r["model_info"]["ended"]) for r in gpu
                       if r["model_info"]["visible"] == device)
        assert all(before[1] <= after[0] for before, after in zip(spans, spans[1:]))
    assert all(r["model_info"]["visible"] is None and "device" not in r["model_info"] for r in rows["cpu-mean"])


def test_one_device_runs_the_gpu_cells_one_at_a_time(tmp_path, monkeypatch):
    rows, _ = _run(tmp_path, monkeypatch, gpus=1, jobs=3)
    gpu = rows["gpu-mean"]
    assert [r["model_info"]["visible"] for r in gpu] == ["0"] * 4
    spans = sorted((r["model_info"]["started"], r["model_info"]["ended"]) for r in gpu)
    assert all(before[1] <= after[0] for before, after in zip(spans, spans[1:]))


def test_without_a_device_gpu_cells_run_on_the_cpu_with_a_note(tmp_path, monkeypatch):
    rows, output = _run(tmp_path, monkeypatch, gpus=0, jobs=2)
    for row in rows["gpu-mean"]:
        assert row["model_info"]["visible"] == ""  # no device visible to its library
        assert row["model_info"]["device"] == "cpu"
        assert row["model_info"]["device_note"] == "no GPU counted (--gpus 0, or none found): ran on the CPU"
    assert output.count("gpu-mean declares a GPU; no GPU counted") == 1


def test_the_devices_handed_out_follow_the_driver_s_own_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert gpu_devices() == ("2", "3") and gpu_devices(1) == ("2",) and gpu_devices(0) == ()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_devices() == () and gpu_devices(2) == ("0", "1")  # told: the user knows the machine
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv("PATH", "/nonexistent")  # no nvidia-smi: no device found
    assert gpu_devices() == ()


@pytest.mark.parametrize("value", ["-1", "auto", "two"])
def test_gpus_must_be_a_count(value, capsys):
    from benchmark.cli import main

    with pytest.raises(SystemExit) as exit:
        main(["run", "suite.yaml", "--gpus", value])
    assert exit.value.code == 2
    assert f"argument --gpus: expected a number of devices (0 or more), got {value!r}" in capsys.readouterr().err
