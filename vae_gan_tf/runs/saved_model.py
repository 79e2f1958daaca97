"""Reading an exported SavedModel (``RUN/saved_model``) without the model classes: where it is, its
``assets/vae_gan_tf.json`` description, loading it with one clear error when it is broken, and drawing from
it: the one sampling loop that sample, evaluate, compare and the conditional scores share."""

from __future__ import annotations

import json
from pathlib import Path

from vae_gan_tf.errors import UserError, first_line
from vae_gan_tf.runs.folder import SAVED_MODEL

REBUILD = ("a run folder's export can be rebuilt from its model.keras: python -m vae_gan_tf.train --resume "
           "--export-only --out RUN")
INFO_FILE = "assets/vae_gan_tf.json"  # family, endpoints, image_shape, latent_dim, pixel_range, num_classes


def find_saved_model(path) -> Path:
    """``path`` itself or ``path/saved_model``, whichever holds a saved_model.pb."""
    path = Path(path)
    for candidate in (path / SAVED_MODEL, path):
        if (candidate / "saved_model.pb").is_file():
            return candidate
    raise UserError(f"{path} holds no SavedModel (no saved_model.pb in it or in its saved_model/); "
                    "give a run folder written by python -m vae_gan_tf.train")


def read_export_info(saved_model: Path) -> dict:
    """The export's description; a UserError when it is missing or unreadable."""
    info_path = Path(saved_model) / INFO_FILE
    try:
        info = json.loads(info_path.read_text())
        if not isinstance(info, dict) or not {"family", "image_shape", "latent_dim", "pixel_range"} <= set(info):
            raise ValueError("not an object with the keys family, image_shape, latent_dim and pixel_range")
    except (OSError, ValueError, RecursionError) as err:  # RecursionError: JSON nested too deeply
        raise UserError(f"{info_path} is missing or broken ({first_line(err)}); {REBUILD}") from None
    return info


def load_saved_model(saved_model: Path):
    """``tf.saved_model.load`` with a one-line UserError for a corrupt or foreign folder."""
    import tensorflow as tf

    try:
        return tf.saved_model.load(str(saved_model))
    except Exception as err:  # TF raises several error types for a damaged SavedModel
        raise UserError(f"{saved_model} could not be loaded as a SavedModel ({first_line(err)}); {REBUILD}") \
            from None


def prior_samples(loaded, info: dict, z, labels=None, batch: int = 500, progress=None):
    """Samples (as NumPy, in the model's pixel range) from a loaded export's ``sample`` endpoint for the
    latent codes ``z``, ``batch`` codes per call (``progress``: a Keras Progbar to advance). A conditional
    export (``num_classes`` in its info) also takes one label per code: ``labels``, or the classes in turn;
    a sequence export (``length`` in its info) takes the number of steps to generate: the data's."""
    import numpy as np
    import tensorflow as tf

    classes = info.get("num_classes")
    if classes is not None and labels is None:
        labels = np.arange(len(z)) % classes
    lengths = [tf.constant(info["length"])] if "length" in info else []
    chunks = []
    for start in range(0, len(z), batch):
        given = [] if classes is None else [tf.constant(labels[start:start + batch], tf.int32)]
        chunks.append(loaded.sample(tf.constant(z[start:start + batch], tf.float32), *given, *lengths).numpy())
        if progress is not None:
            progress.add(len(chunks[-1]))
    return np.concatenate(chunks)


def unit_range_samples(loaded, info: dict, z, labels=None, progress=None):
    """:func:`prior_samples` of images mapped to [0, 1] (2-D points and sequences unchanged)."""
    from vae_gan_tf.data.pixels import to_unit_range

    samples = prior_samples(loaded, info, z, labels, progress=progress)
    return samples if len(info["image_shape"]) == 1 else to_unit_range(samples, tuple(info["pixel_range"]))


def prior_codes(info: dict, n: int, seed: int):
    """``n`` codes z ~ N(0, I) of the export's latent size, drawn from ``seed`` (float32)."""
    import numpy as np

    return np.random.default_rng(seed).standard_normal((n, info["latent_dim"])).astype(np.float32)


def slerp(a, b, steps):
    """Spherical interpolation between two Gaussian draws (White 2016), which keeps the prior's norm."""
    import numpy as np

    t = np.linspace(0.0, 1.0, steps)[:, None]
    cos = np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def traversal_codes(code, values):
    """(D·M, D) codes: for each latent dimension d in turn, ``code`` with z_d replaced by each of ``values``
    (the latent traversal of Higgins et al. 2017, Fig. 7)."""
    import numpy as np

    code = np.asarray(code, np.float32).reshape(-1)
    values = np.asarray(values, np.float32)
    codes = np.repeat(code[None, None, :], len(values), axis=1).repeat(len(code), axis=0)
    for d in range(len(code)):
        codes[d, :, d] = values
    return codes.reshape(-1, len(code))
