"""SavedModel export with named endpoints per family, loadable by ``tf.saved_model.load`` alone.

Uses ``keras.export.ExportArchive`` (KERAS3_FACTS.md, export): every endpoint has a ``None`` batch
dimension. A small ``assets/vae_gan_tf.json`` records the family, shapes and pixel range so that
``python -m vae_gan_tf.sample`` can draw from any export without the model classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import tensorflow as tf

from vae_gan_tf.models.autoencoder import Autoencoder
from vae_gan_tf.models.vae import VAE

INFO_FILE = "assets/vae_gan_tf.json"


def encoder_decoder_endpoints(model: Autoencoder) -> dict:
    """encode, decode, reconstruct (and for a VAE: sample, generate). Each: (function, input specs)."""
    x_spec = tf.TensorSpec((None, *model.image_shape), tf.float32, name="x")
    z_spec = tf.TensorSpec((None, model.latent_dim), tf.float32, name="z")

    def encode(x):
        return model.encode(x)

    def decode(z):
        return model.decode(z)

    def reconstruct(x):
        code = model.encode(x)
        return model.decode(code[0] if isinstance(code, (list, tuple)) else code)

    endpoints = {"encode": (encode, [x_spec]), "decode": (decode, [z_spec]),
                 "reconstruct": (reconstruct, [x_spec])}
    if isinstance(model, VAE):
        def generate(n):
            return model.decode(tf.random.normal(tf.stack([n, model.latent_dim])))

        endpoints["sample"] = (decode, [z_spec])
        endpoints["generate"] = (generate, [tf.TensorSpec((), tf.int32, name="n")])
    return endpoints


def export_saved_model(model, path, pixel_range=(0.0, 1.0)) -> Path:
    """Write ``model``'s endpoints as a SavedModel at ``path`` and return the path."""
    path = Path(path)
    archive = keras.export.ExportArchive()
    archive.track(model)
    endpoints = encoder_decoder_endpoints(model)
    for name, (fn, specs) in endpoints.items():
        archive.add_endpoint(name, fn, input_signature=specs)
    archive.write_out(str(path), verbose=False)
    info = {"family": type(model).__name__, "endpoints": sorted(endpoints), "image_shape": list(model.image_shape),
            "latent_dim": model.latent_dim, "pixel_range": list(pixel_range)}
    (path / INFO_FILE).parent.mkdir(parents=True, exist_ok=True)
    (path / INFO_FILE).write_text(json.dumps(info, indent=2))
    return path
