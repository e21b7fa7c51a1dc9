"""Cell pictures: written by a real ``bench run``, referenced in cells.jsonl, valid PNGs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from types import SimpleNamespace

import numpy as np
import pytest

from benchmark.api import Model, Predictions
from bench_plugins import pictures
from tests.conftest import ROOT, run_bench

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

SUITE = """\
name: tiny-pictures
seed: 0
datasets:
  - name: mnist
    options: {scale: 256, limit: 300, test_limit: 20}
    split: {method: predefined, name: official}
models:
  - name: autoencoder
    params: {encoding_dim: 8, epochs: 2, batch_size: 64, validation_split: 0.2}
  - name: pca
    params: {n_components: 8}
metrics: [bce, mse]
"""


def _read_png(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return imread(path)


class _History(Model):
    def __init__(self, history: dict | None = None):
        self.history = history

    def info(self) -> dict:
        return {"history": self.history} if self.history is not None else {}


def test_bench_run_writes_pictures_referenced_in_cells_jsonl(shared_data: Path, write_suite, tmp_path: Path):
    pytest.importorskip("tensorflow")
    out = tmp_path / "out"
    done = run_bench("run", str(write_suite(SUITE)), "--out", str(out), "--data-dir", str(shared_data), "-q")
    assert done.returncode == 0, done.stderr
    lines = (out / "cells.jsonl").read_text().splitlines()
    rows = {row["model_plugin"]: row for row in map(json.loads, lines)}
    assert {row["status"] for row in rows.values()} == {"ok"}
    autoencoder, pca = rows["autoencoder"], rows["pca"]
    assert [Path(name).name for name in autoencoder["artifacts"]] == ["reconstructions.png", "loss.png"]
    assert [Path(name).name for name in pca["artifacts"]] == ["reconstructions.png"]  # no loss curve
    for row in (autoencoder, pca):
        for name in row["artifacts"]:  # relative to the run directory, one folder per cell
            assert (out / name).is_file() and Path(name).parts[:2] == ("artifacts", row["cell_id"])
    grid = _read_png(out / autoencoder["artifacts"][0])
    assert grid.shape[:2] == (230, 1000)  # 2 rows of 10 images at 100 dpi
    curve = _read_png(out / autoencoder["artifacts"][1])
    assert curve.shape[:2] == (400, 600)
    assert autoencoder["model_info"]["history"]["val_loss"]


def _cell(task: str) -> SimpleNamespace:
    return SimpleNamespace(task=task, model="m", dataset="d", fold_name="f")


def test_the_grid_puts_originals_above_reconstructions(tmp_path: Path):
    test = np.zeros((12, 64))  # black originals
    prediction = np.ones((12, 64))  # white reconstructions
    written = pictures.bench_cell_artifacts(
        cell=_cell("reconstruction"), model=_History(),
        predictions=Predictions("reconstruction", test, prediction, info={"image_shape": [8, 8]}),
        directory=tmp_path)
    assert written == ["reconstructions.png"]
    image = _read_png(tmp_path / "reconstructions.png")[..., :3].mean(axis=2)
    height = image.shape[0]
    # inside the image panels: the top row is dark, the bottom row bright
    top, bottom = image[int(0.25 * height):int(0.5 * height)], image[int(0.6 * height):int(0.95 * height)]
    assert np.median(top) < 0.2 and np.median(bottom) > 0.8


def test_only_what_applies_is_drawn(tmp_path: Path):
    rows = np.random.default_rng(0).random((3, 16))
    # no image shape: no grid; a history: a loss curve
    written = pictures.bench_cell_artifacts(
        cell=_cell("reconstruction"), model=_History({"loss": [0.3, 0.2], "val_loss": [0.35, 0.3]}),
        predictions=Predictions("reconstruction", rows, rows), directory=tmp_path)
    assert written == ["loss.png"]
    # a rating cell without a history: nothing at all
    assert pictures.bench_cell_artifacts(
        cell=_cell("rating"), model=_History(),
        predictions=Predictions("rating", np.ones(3), np.ones(3), info={"image_shape": [4, 4]}),
        directory=tmp_path / "none") is None


def test_without_matplotlib_nothing_is_drawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    real = pictures.importlib.util.find_spec
    monkeypatch.setattr(pictures.importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    # looked up once per process: the uncached lookup sees the patched find_spec
    monkeypatch.setattr(pictures, "_have_matplotlib", pictures._have_matplotlib.__wrapped__)
    rows = np.zeros((3, 4))
    assert pictures.bench_cell_artifacts(
        cell=_cell("reconstruction"), model=_History({"loss": [1.0]}),
        predictions=Predictions("reconstruction", rows, rows, info={"image_shape": [2, 2]}),
        directory=tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_plugin_modules_import_no_heavy_library():
    code = ("import bench_plugins.keras_models, bench_plugins.autorec, bench_plugins.pictures, sys; "
            "assert not {'tensorflow', 'keras', 'matplotlib'} & set(sys.modules), "
            "sorted({'tensorflow', 'keras', 'matplotlib'} & set(sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
