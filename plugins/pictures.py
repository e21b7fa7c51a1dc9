"""Pictures of finished cells: reconstructed images and loss curves, as PNG files.

* ``reconstructions.png``: for a reconstruction cell whose dataset has ``image_shape``, the
  first 10 test images (top row) above the model's reconstructions (bottom row), the picture
  the Keras autoencoder tutorial shows.
* ``loss.png``: when ``model.info()`` holds a ``history`` with a ``loss`` list, the training
  (and validation) loss per epoch.

matplotlib is imported inside the hook, through its object-oriented API (no pyplot, no
global backend switch), so it renders headless with Agg. Without matplotlib (it comes with the
``keras`` extra) no pictures are drawn and cells record no artifacts.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from benchmark.api import RECONSTRUCTION, Model, Predictions, hookimpl, require

if TYPE_CHECKING:
    from benchmark.cells import Cell

N_IMAGES = 10
RECONSTRUCTIONS = "reconstructions.png"
LOSS = "loss.png"


def save_reconstructions(path: Path, test: np.ndarray, prediction: np.ndarray,
                         image_shape: tuple[int, int], title: str = "") -> None:
    """Two rows of images: originals on top, reconstructions below (values shown on [0, 1])."""
    Figure = require("matplotlib.figure", "matplotlib").Figure
    n = min(N_IMAGES, len(test))
    figure = Figure(figsize=(n, 2.3), dpi=100)
    axes = figure.subplots(2, n, squeeze=False)
    for column in range(n):
        for row, images in enumerate((test, prediction)):
            ax = axes[row, column]
            ax.imshow(np.asarray(images[column], float).reshape(image_shape), cmap="gray",
                      vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("original", fontsize=8)
    axes[1, 0].set_ylabel("reconstructed", fontsize=8)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.subplots_adjust(left=0.03, right=0.99, bottom=0.02, top=0.86, wspace=0.05, hspace=0.05)
    figure.savefig(path, format="png")


def save_loss_curve(path: Path, history: dict[str, list[float]], title: str = "") -> None:
    """Training and validation loss per epoch."""
    Figure = require("matplotlib.figure", "matplotlib").Figure
    figure = Figure(figsize=(6, 4), dpi=100)
    ax = figure.subplots()
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        values = history.get(key) or []
        if values:
            ax.plot(np.arange(1, len(values) + 1), values, marker="." if len(values) < 60 else None,
                    label=label)
    ax.xaxis.set_major_locator(require("matplotlib.ticker", "matplotlib").MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, format="png")


@functools.cache
def _have_matplotlib() -> bool:
    """Whether matplotlib is installed (looked up once per process, not once per cell)."""
    return importlib.util.find_spec("matplotlib") is not None


@hookimpl
def bench_cell_artifacts(cell: Cell, model: Model, predictions: Predictions,
                         directory: Path) -> list[str] | None:
    if not _have_matplotlib():
        return None
    written = []
    shape = predictions.info.get("image_shape")
    title = f"{cell.model} on {cell.dataset} ({cell.fold_name})"
    if cell.task == RECONSTRUCTION and shape and len(shape) == 2 and len(predictions.y_true):
        save_reconstructions(directory / RECONSTRUCTIONS, predictions.y_true, predictions.y_pred,
                             (int(shape[0]), int(shape[1])), title)
        written.append(RECONSTRUCTIONS)
    history = model.info().get("history")
    if isinstance(history, dict) and history.get("loss"):
        save_loss_curve(directory / LOSS, history, title)
        written.append(LOSS)
    return written or None
