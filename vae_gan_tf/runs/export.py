"""The SavedModel writer: a model's endpoints (each family's ``endpoints()``: VAE encode, decode, sample,
reconstruct, generate, complete; two-stage VAE also second_encode, second_decode, second_sample; VAE/GAN
also discriminate; autoencoder encode, decode, reconstruct, complete; GAN/WGAN sample, generate,
discriminate, project; CVAE and CGAN the same with an int32 ``label`` per example before any count),
loadable by ``tf.saved_model.load`` alone.

Every endpoint has a ``None`` batch dimension and is both a ``tf.function`` for Python callers, returning
what the model's method returns (``m.encode(x)`` -> ``[mean, log_var]``), and a serving signature of the
same name (TF Serving, ``saved_model_cli``) whose outputs are named (``mean``, ``log_var``, ``images``,
``logits``, ...; the model's ``output_names``). ``keras.export.ExportArchive`` (KERAS3_FACTS.md, export)
cannot do both: in Keras 3.15 it makes each signature from the endpoint's own function, so named outputs
would turn every Python call's result into a dict. The archive is therefore written with
``tf.saved_model.save`` directly, as the ExportArchive does it on TensorFlow (a trackable holding the
functions and the variables they read).
A small ``assets/vae_gan_tf.json`` records the family, shapes and pixel range so that
``python -m vae_gan_tf.sample`` can draw from any export without the model classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow as tf

from vae_gan_tf.runs.folder import write_text
from vae_gan_tf.runs.saved_model import INFO_FILE


def named_outputs(fn, names: tuple):
    """``fn`` with its results as {name: tensor} (a dict result is kept as it is)."""

    def named(*args):
        result = fn(*args)
        if isinstance(result, dict):
            return result
        result = result if isinstance(result, (list, tuple)) else (result,)
        if len(result) != len(names):
            raise ValueError(f"{len(result)} outputs for the names {names}")
        return dict(zip(names, result))

    return named


def export_saved_model(model, path, pixel_range=(0.0, 1.0)) -> Path:
    """Write ``model``'s endpoints as a SavedModel at ``path`` and return the path."""
    path = Path(path)
    endpoints = model.endpoints()
    archive, signatures, used = tf.Module(), {}, {}
    for name, (fn, specs) in endpoints.items():
        call = tf.function(fn, input_signature=specs, autograph=False)
        setattr(archive, name, call)
        signatures[name] = tf.function(named_outputs(call, model.output_names(name)), input_signature=specs,
                                       autograph=False).get_concrete_function()  # calls the traced `call`
        for concrete in (call.get_concrete_function(), signatures[name]):
            used.update({id(v): v for v in concrete.variables})
    # The tf.Variables the functions read, tracked as themselves (not through Keras's wrappers), as the
    # ExportArchive does: saved_model_cli's TF1 loader finds no variable otherwise.
    archive.used_variables = list(used.values())
    signatures["serving_default"] = signatures[next(iter(endpoints))]  # TF Serving's default: the first
    tf.saved_model.save(archive, str(path), signatures=signatures)
    info = {"family": type(model).__name__, "endpoints": sorted(endpoints), "image_shape": list(model.image_shape),
            "latent_dim": model.latent_dim, "pixel_range": list(pixel_range), "num_classes": model.num_classes,
            **model.export_info()}
    (path / INFO_FILE).parent.mkdir(parents=True, exist_ok=True)
    write_text(path / INFO_FILE, json.dumps(info, indent=2))
    return path
