"""Reading an exported SavedModel (``RUN/saved_model``) without the model classes: where it is, its
``assets/vae_gan_tf.json`` description, and loading it with one clear error when it is broken."""

from __future__ import annotations

import json
from pathlib import Path

from vae_gan_tf.errors import UserError, first_line

INFO_FILE = "assets/vae_gan_tf.json"  # family, endpoints, image_shape, latent_dim, pixel_range, num_classes


def find_saved_model(path) -> Path:
    """``path`` itself or ``path/saved_model``, whichever holds a saved_model.pb."""
    path = Path(path)
    for candidate in (path / "saved_model", path):
        if (candidate / "saved_model.pb").is_file():
            return candidate
    raise UserError(f"{path} holds no SavedModel (no saved_model.pb in it or in its saved_model/); "
                    "give a run folder written by python -m vae_gan_tf.train")


def read_export_info(saved_model: Path) -> dict:
    """The export's description; a UserError when it is missing or unreadable."""
    info_path = Path(saved_model) / INFO_FILE
    try:
        info = json.loads(info_path.read_text())
        if not {"family", "image_shape", "latent_dim", "pixel_range"} <= set(info):
            raise ValueError("missing keys")
    except (OSError, ValueError) as err:
        raise UserError(f"{info_path} is missing or broken ({first_line(err)}); export the run again by "
                        "training it with python -m vae_gan_tf.train") from None
    return info


def load_saved_model(saved_model: Path):
    """``tf.saved_model.load`` with a one-line UserError for a corrupt or foreign folder."""
    import tensorflow as tf

    try:
        return tf.saved_model.load(str(saved_model))
    except Exception as err:  # TF raises several error types for a damaged SavedModel
        raise UserError(f"{saved_model} could not be loaded as a SavedModel ({first_line(err)})") from None


def prior_samples(loaded, info: dict, z, labels=None):
    """Images (as NumPy) from a loaded export's ``sample`` endpoint for the latent codes ``z``. A conditional
    export (``num_classes`` in its info) also takes one label per code: ``labels``, or the classes in turn;
    a sequence export (``length`` in its info) takes the number of steps to generate: the data's."""
    import numpy as np
    import tensorflow as tf

    classes = info.get("num_classes")
    if classes is None:
        lengths = [tf.constant(info["length"])] if "length" in info else []
        return loaded.sample(tf.constant(z, tf.float32), *lengths).numpy()
    if labels is None:
        labels = np.arange(len(z)) % classes
    return loaded.sample(tf.constant(z, tf.float32), tf.constant(labels, tf.int32)).numpy()
