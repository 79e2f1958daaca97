"""What ``complete`` and ``denoise`` share: a run's restoration endpoints, its held-out images, and the
scores they write to ``RUN/uses.json``.

The endpoints come from ``RUN/saved_model`` (``complete`` for the VAE family, ``project`` for the GAN
family, models/completion.py). A run exported before they existed is re-exported from ``RUN/model.keras`` into a
temporary folder, so the same functions run either way and the run folder is left as it is.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from vae_gan_tf.data.held_out import held_out_images
from vae_gan_tf.errors import UserError
from vae_gan_tf.runs.folder import CONFIG_FILE, MODEL_FILE, SAVED_MODEL, USES_FILE, read_json, write_text
from vae_gan_tf.runs.saved_model import find_saved_model, load_saved_model, read_export_info

ENDPOINTS = ("complete", "project")  # the VAE family's chain, the GAN family's latent optimisation
DEFAULT_STEPS = {"complete": 50, "project": 300}  # chain iterations / Adam steps on z
BATCH = 64


class Restorer:
    """The run's ``complete`` or ``project`` endpoint in [0, 1] pixels, batched, with a progress bar of the
    images done (images/s and the time left; ``verbose=0`` silences it): a GAN's projection of 500 images
    takes minutes on a CPU."""

    def __init__(self, run_dir, verbose: int = 1):
        self.run_dir = Path(run_dir)
        self.verbose = verbose
        if not (self.run_dir / CONFIG_FILE).is_file():
            raise UserError(
                f"{self.run_dir} is not a run folder (no config.yaml); give the --out of a finished "
                "python -m vae_gan_tf.train"
            )
        saved_model = find_saved_model(self.run_dir)
        self.info = read_export_info(saved_model)
        self.conditional = self.info.get("num_classes") is not None
        self.loaded = load_saved_model(saved_model)
        if not any(hasattr(self.loaded, name) for name in ENDPOINTS):
            self.loaded = self._reexported()
        self.endpoint = next((name for name in ENDPOINTS if hasattr(self.loaded, name)), None)
        if self.endpoint is None:
            raise UserError(
                f"{self.run_dir} holds a {self.info['family']}, which has no image completion; use an image "
                "VAE, autoencoder, VAE/GAN, CVAE, GAN, WGAN or CGAN run"
            )
        low, high = self.info["pixel_range"]
        self.low, self.span = float(low), float(high) - float(low)

    def _reexported(self):
        keras_file = self.run_dir / MODEL_FILE
        if not keras_file.is_file():
            raise UserError(
                f"{self.run_dir}'s SavedModel has no completion endpoint ({' or '.join(ENDPOINTS)}) and there "
                "is no model.keras to rebuild it from; retrain the run with this version of vae_gan_tf"
            )
        from vae_gan_tf.models.catalog import load_trained
        from vae_gan_tf.runs.export import export_saved_model

        model = load_trained(keras_file, f"train the run again with --overwrite --out {self.run_dir}")
        self._temporary = tempfile.TemporaryDirectory(prefix="vae_gan_tf_export_")
        path = export_saved_model(
            model, Path(self._temporary.name) / SAVED_MODEL, tuple(self.info["pixel_range"])
        )
        return load_saved_model(path)

    def _progress(self, total: int):
        import keras

        progress = keras.utils.Progbar(total, unit_name="image", verbose=self.verbose)
        progress.update(0)  # shown at once: a batch of a GAN's projection takes minutes
        return progress

    def _call(self, x, masks, labels, steps: int) -> dict:
        import tensorflow as tf

        outputs: dict = {}
        progress = self._progress(len(x))
        for start in range(0, len(x), BATCH):
            args = [
                tf.constant(x[start:start + BATCH] * self.span + self.low),
                tf.constant(masks[start:start + BATCH]),
            ]
            if self.conditional:
                args.append(tf.constant(labels[start:start + BATCH], tf.int32))
            result = getattr(self.loaded, self.endpoint)(*args, tf.constant(steps, tf.int32))
            for key in ("images", "generated"):
                if key in result:
                    outputs.setdefault(key, []).append(
                        np.clip((result[key].numpy() - self.low) / self.span, 0, 1)
                    )
            progress.add(len(args[0]))
        return {key: np.concatenate(parts) for key, parts in outputs.items()}

    def complete(self, x, masks, labels, steps: int):
        """Completions of ``x`` (in [0, 1]) where ``masks`` is 0; known pixels are returned unchanged."""
        return self._call(x, masks, labels, steps)["images"]

    def denoise(self, noisy, labels, steps: int):
        """The model's clean estimate of ``noisy``: the VAE family's reconstruction (the chain's step with
        every pixel given), the GAN family's projection G(z*) onto its range with every pixel known."""
        masks = np.ones_like(noisy)
        if self.endpoint == "project":
            return self._call(noisy, masks, labels, steps)["generated"]
        import tensorflow as tf

        chunks = []
        progress = self._progress(len(noisy))
        for start in range(0, len(noisy), BATCH):
            args = [tf.constant(noisy[start:start + BATCH] * self.span + self.low)]
            if self.conditional:
                args.append(tf.constant(labels[start:start + BATCH], tf.int32))
            chunks.append(np.clip((self.loaded.reconstruct(*args).numpy() - self.low) / self.span, 0, 1))
            progress.add(len(chunks[-1]))
        return np.concatenate(chunks)


def held_out(run_dir: Path, n: int, seed: int, need_labels: bool):
    """``n`` held-out images of the run's source in [0, 1] with their labels (None without) and the run's
    config (data/held_out.py); a UserError for a conditional model on a source without labels."""
    from vae_gan_tf.config import load_config

    config = load_config(Path(run_dir) / CONFIG_FILE)
    images, labels = held_out_images(config, n, seed)
    if need_labels and labels is None:
        raise UserError(
            f"data source {config.data.source!r} has no labels, which this conditional model needs"
        )
    return images, labels, config


def record(run_dir: Path, section: str, key: str, values: dict) -> Path:
    """Merge ``values`` into ``RUN/uses.json`` under [section][key]; returns the file."""
    path = Path(run_dir) / USES_FILE
    content = read_json(path, "uses file", "delete it (it is rewritten by the next complete / denoise --metrics)") \
        if path.exists() else {}
    content.setdefault(section, {})[key] = values
    write_text(path, json.dumps(content, indent=2))
    return path


def save_rows(rows, path, titles: str) -> None:
    """A grid with one row per array in ``rows`` (all (n, H, W, C) in [0, 1])."""
    from vae_gan_tf.report.plotting import save_image_grid

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_image_grid(np.concatenate(rows), path, ncols=len(rows[0]), title=titles)
