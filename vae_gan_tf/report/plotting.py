"""Pictures of a run with matplotlib (Agg backend): image grids, sequence panels, reconstructions, loss
curves."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

# Agg is used whatever $MPLBACKEND names, and an unknown name there stops matplotlib's import with a
# traceback (issue 25): import it without the variable, then put the variable back for other programs.
_backend = os.environ.pop("MPLBACKEND", None)
try:
    import matplotlib
finally:
    if _backend is not None:
        os.environ["MPLBACKEND"] = _backend

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vae_gan_tf.data.pixels import to_unit_range  # noqa: E402
from vae_gan_tf.errors import UserError, first_line  # noqa: E402
from vae_gan_tf.runs.folder import atomic  # noqa: E402


def tile(images: np.ndarray, ncols: int) -> np.ndarray:
    """(N, H, W, C) in [0, 1] -> one (rows·H, ncols·W, C) mosaic with 1-pixel white gaps."""
    n, h, w, c = images.shape
    nrows = math.ceil(n / ncols)
    mosaic = np.ones((nrows * (h + 1) - 1, ncols * (w + 1) - 1, c), np.float32)
    for i, image in enumerate(images):
        r, col = divmod(i, ncols)
        mosaic[r * (h + 1): r * (h + 1) + h, col * (w + 1): col * (w + 1) + w] = image
    return mosaic


def savefig(fig, path, **options) -> None:
    """Write ``fig`` to ``path`` (its folder made) through runs/folder.py's one writer, then close it: a full
    disk keeps an existing picture whole, and a link at ``path`` is replaced or refused (issue 25)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic(path) as incoming:
            fig.savefig(incoming, **options)
    finally:
        plt.close(fig)


def save_image_grid(images, path, pixel_range=(0.0, 1.0), ncols=None, title=None) -> None:
    """Save N images as a square-ish grid PNG."""
    images = to_unit_range(images, pixel_range)
    ncols = ncols or math.ceil(math.sqrt(len(images)))
    mosaic = tile(images, ncols)
    height, width = mosaic.shape[:2]
    scale = max(1.0, 480.0 / max(height, width))
    fig = plt.figure(figsize=(width * scale / 100, height * scale / 100 + (0.3 if title else 0)), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1 if not title else height / (height + 30 / scale)))
    ax.imshow(mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic, cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9, y=0.995)
    savefig(fig, path)


def save_traversal_grid(rows, path, row_labels, values, pixel_range=(0.0, 1.0), title=None) -> None:
    """A latent traversal: ``rows`` (D, M, H, W, C), one row per latent dimension, each labelled on the left;
    the columns are the traversed ``values``."""
    rows = np.asarray(rows)
    d, m = rows.shape[:2]
    mosaic = tile(to_unit_range(rows.reshape((-1,) + rows.shape[2:]), pixel_range), m)
    height, width = mosaic.shape[:2]
    scale = max(1.0, 480.0 / width)
    fig = plt.figure(figsize=(width * scale / 100 + 1.6, height * scale / 100 + 0.5), dpi=100)
    ax = fig.add_axes((1.6 / (width * scale / 100 + 1.6), 0.3 / (height * scale / 100 + 0.5),
                       1 - 1.6 / (width * scale / 100 + 1.6), 1 - 0.5 / (height * scale / 100 + 0.5)))
    ax.imshow(mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic, cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    h = rows.shape[2] + 1
    ax.set_yticks([i * h + rows.shape[2] / 2 for i in range(d)], row_labels, fontsize=7)
    ax.set_xticks([j * (rows.shape[3] + 1) + rows.shape[3] / 2 for j in range(m)], [f"{v:.1f}" for v in values],
                  fontsize=6)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=8, y=0.995)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    savefig(fig, path)


def save_scatter(points, path, means=None, title=None) -> None:
    """2-D samples as a scatter, with the true modes (if given) as red crosses."""
    points = np.asarray(points)
    fig, ax = plt.subplots(figsize=(4.8, 4.8))
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue", label="samples")
    if means is not None:
        ax.scatter(means[:, 0], means[:, 1], s=40, marker="x", color="tab:red", label="modes")
        span = np.abs(means).max() * 1.5 + 0.5
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    write_figure(fig, ax, path, title)


def write_figure(fig, ax, path, title=None) -> None:
    """Title ``ax`` (small), lay out and write ``fig`` to ``path`` at 100 dpi, creating its folder."""
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    savefig(fig, path, dpi=100)


def save_sequences(sequences, path, lengths=None, references=None, title=None) -> None:
    """Sequences (N, T, F) as curves, one grid cell each on a single axes (quick for many), each drawn over
    its first ``lengths[i]`` steps (default: all), with ``references`` (e.g. originals) dashed beneath."""
    sequences = np.asarray(sequences, np.float32)
    n, steps = sequences.shape[:2]
    lengths = np.full(n, steps) if lengths is None else np.asarray(lengths, int)
    if references is not None:
        references = np.asarray(references, np.float32)
    shown = sequences if references is None else np.concatenate([sequences, references])
    low, high = float(shown.min()), float(shown.max())
    height = 1.25 * (high - low) or 1.0
    ncols = math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    fig, ax = plt.subplots(figsize=(min(12.0, 1.6 * ncols), min(9.0, 0.9 * nrows) + 0.3))
    for i in range(n):
        row, col = divmod(i, ncols)
        t = col * 1.15 * steps + np.arange(lengths[i])
        offset = -row * height - (low + high) / 2
        if references is not None:
            ax.plot(t, offset + references[i, :lengths[i]], color="0.6", linestyle="--", linewidth=0.8)
        ax.plot(t, offset + sequences[i, :lengths[i]], color="tab:blue", linewidth=0.9)
    ax.axis("off")
    write_figure(fig, ax, path, title)


def save_reconstructions(originals, reconstructions, path, pixel_range=(0.0, 1.0)) -> None:
    """Rows of originals above their reconstructions (pairs of rows), up to 16 per row."""
    n = len(originals)
    ncols = min(16, n)
    rows = []
    for start in range(0, n, ncols):
        rows.append(originals[start:start + ncols])
        rows.append(reconstructions[start:start + ncols])
    stacked = np.concatenate(rows)
    save_image_grid(stacked, path, pixel_range, ncols=ncols, title="originals (odd rows) / reconstructions (even rows)")


def read_history(csv_path) -> dict[str, list[float]]:
    """history.csv (training.callbacks.HistoryLog) as column -> values; a resumed epoch's later row wins, and columns
    with no value at all are left out."""
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = list({row.get("epoch"): row for row in csv.DictReader(fh)}.values())
    except (UnicodeDecodeError, csv.Error) as err:  # issue 25: a damaged history.csv is one line
        raise UserError(f"{csv_path} is not a CSV file of epoch rows ({first_line(err, 80)}); delete it (the "
                        "run's loss curves are then lost) or restore it") from None
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            try:
                columns.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                columns.setdefault(key, []).append(float("nan"))
    # HistoryLog (as CSVLogger) adds val_ columns filled with "NA" when there is no validation data: drop them.
    return {k: v for k, v in columns.items() if not all(math.isnan(x) for x in v)}


def save_curves(history: dict[str, list[float]], path) -> None:
    """One panel per metric (train and validation), by epoch."""
    names = [k for k in history if k != "epoch" and not k.startswith("val_") and k != "learning_rate"]
    if not names:
        return
    epochs = [e + 1 for e in history.get("epoch", range(len(history[names[0]])))]
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.0), squeeze=False)
    for ax, name in zip(axes[0], names):
        if name.startswith("eval_"):  # every train.eval_every_epochs epochs, NaN in between (training/epoch_evaluation.py)
            ax.plot(epochs, history[name], marker="o", markersize=3, label="samples vs held-out")
        else:
            ax.plot(epochs, history[name], label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    savefig(fig, path, dpi=100)
