"""SavedModel export with named endpoints per family (VAE: encode, decode, sample, reconstruct, generate;
two-stage VAE: the VAE's, with sample and generate through both decoders, and second_encode, second_decode,
second_sample;
VAE/GAN: the VAE's and discriminate; autoencoder: encode, decode, reconstruct; GAN/WGAN: sample, generate,
discriminate; the conditional CVAE and CGAN: the same with an int32 ``label`` per example as the last input,
and ``generate(label)``; and ``complete`` or ``project``, inpainting.py), loadable by
``tf.saved_model.load`` alone.

Every endpoint has a ``None`` batch dimension and is both a ``tf.function`` for Python callers, returning
what the model's method returns (``m.encode(x)`` -> ``[mean, log_var]``), and a serving signature of the
same name (TF Serving, ``saved_model_cli``) whose outputs are named (``mean``, ``log_var``, ``images``,
``logits``, ...; ``output_names``). ``keras.export.ExportArchive`` (KERAS3_FACTS.md, export) cannot do
both: in Keras 3.15 it makes each signature from the endpoint's own function, so named outputs would turn
every Python call's result into a dict. The archive is therefore written with ``tf.saved_model.save``
directly, as the ExportArchive does it on TensorFlow (a trackable holding the functions and the variables
they read).
A small ``assets/vae_gan_tf.json`` records the family, shapes and pixel range so that
``python -m vae_gan_tf.sample`` can draw from any export without the model classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow as tf

from vae_gan_tf.exported import INFO_FILE
from vae_gan_tf.inpainting import restoration_endpoints
from vae_gan_tf.models.autoencoder import Autoencoder
from vae_gan_tf.models.conditional import ConditionalGAN, ConditionalVAE
from vae_gan_tf.models.gan import GAN
from vae_gan_tf.models.sequence_vae import SequenceVAE
from vae_gan_tf.models.two_stage_vae import TwoStageVAE
from vae_gan_tf.models.vae import VAE
from vae_gan_tf.models.vaegan import VAEGAN


def encoder_decoder_endpoints(model: Autoencoder) -> dict:
    """encode, decode, reconstruct (and for a VAE: sample, generate). Each: (function, input specs)."""
    if isinstance(model, SequenceVAE):
        return sequence_endpoints(model)
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
        endpoints.update(prior_endpoints(model))
    if isinstance(model, VAEGAN):
        endpoints["discriminate"] = (lambda x: model.discriminate(x)[0], [x_spec])
    if isinstance(model, TwoStageVAE):  # the second stage: z -> (mean, log_var) of q(u|z), u -> E[z|u], a draw
        endpoints["second_encode"] = (lambda z: model.second_encode(z), [z_spec])
        endpoints["second_decode"] = (lambda u: model.second_decode(u), [z_spec])
        endpoints["second_sample"] = (lambda u: model.second_sample(u), [z_spec])
    return endpoints


def sequence_endpoints(model: SequenceVAE) -> dict:
    """encode(x) with any number of steps (pass the real steps only), and decode(z, length) and
    sample(z, length) generating ``length`` steps (an int32 scalar; the data's is in the info JSON)."""
    x_spec = tf.TensorSpec((None, None, *model.image_shape[1:]), tf.float32, name="x")
    z_spec = tf.TensorSpec((None, model.latent_dim), tf.float32, name="z")
    length_spec = tf.TensorSpec((), tf.int32, name="length")

    def encode(x):
        return model.encode(x)

    def decode(z, length):
        return model.decode(z, length)

    def sample(z, length):
        return model.generate(z, length)

    return {"encode": (encode, [x_spec]), "decode": (decode, [z_spec, length_spec]),
            "sample": (sample, [z_spec, length_spec])}


def prior_endpoints(model) -> dict:
    """sample(z) -> x and generate(n) -> x with z ~ N(0, I) drawn inside, for models with a prior."""
    z_spec = tf.TensorSpec((None, model.latent_dim), tf.float32, name="z")

    def sample(z):
        return model.generate(z)

    def generate(n):
        return model.generate(tf.random.normal(tf.stack([n, model.latent_dim])))

    return {"sample": (sample, [z_spec]), "generate": (generate, [tf.TensorSpec((), tf.int32, name="n")])}


def adversarial_endpoints(model: GAN) -> dict:
    """sample, generate (from the moving-average generator when there is one) and discriminate(x) -> logits:
    one per image, or with PacGAN packing one per pack of ``model.pack`` consecutive images."""
    x_spec = tf.TensorSpec((None, *model.image_shape), tf.float32, name="x")

    def discriminate(x):
        return model.score(x, None, False)

    return {**prior_endpoints(model), "discriminate": (discriminate, [x_spec])}


def conditional_endpoints(model) -> dict:
    """The conditional models' endpoints: each map takes one label per example; ``generate(label)`` draws
    z ~ N(0, I) inside, one image per label."""
    x_spec = tf.TensorSpec((None, *model.image_shape), tf.float32, name="x")
    z_spec = tf.TensorSpec((None, model.latent_dim), tf.float32, name="z")
    label_spec = tf.TensorSpec((None,), tf.int32, name="label")

    def sample(z, label):
        return model.generate(z, label)

    def generate(label):
        return model.generate(tf.random.normal(tf.stack([tf.shape(label)[0], model.latent_dim])), label)

    endpoints = {"sample": (sample, [z_spec, label_spec]), "generate": (generate, [label_spec])}
    if isinstance(model, ConditionalGAN):
        endpoints["discriminate"] = (lambda x, label: model.score(x, label, False), [x_spec, label_spec])
    else:
        endpoints.update({
            "encode": (lambda x, label: model.encode(x, label), [x_spec, label_spec]),
            "decode": (lambda z, label: model.decode(z, label), [z_spec, label_spec]),
            "reconstruct": (lambda x, label: model.decode(model.encode(x, label)[0], label), [x_spec, label_spec]),
        })
    return endpoints


def output_names(model, endpoint: str) -> tuple:
    """The serving signature's output names of ``endpoint``, in the order of its Python results. Maps to
    data are ``images`` (or ``x`` for vectors and sequences); ``complete`` and ``project`` return dicts."""
    data = "images" if len(model.image_shape) == 3 else "x"
    if endpoint in ("encode", "second_encode"):  # the parameters of q(z|x) (a deterministic code: z)
        return ("mean", "log_var") if isinstance(model, (VAE, SequenceVAE, ConditionalVAE)) else ("z",)
    if endpoint in ("second_decode", "second_sample"):  # E[z|u], and z ~ p(z|u), of the second stage
        return ("z",)
    if endpoint == "discriminate":
        return ("logits",)
    return (data,)


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
    if isinstance(model, (ConditionalGAN, ConditionalVAE)):
        endpoints = conditional_endpoints(model)
    elif isinstance(model, GAN):
        endpoints = adversarial_endpoints(model)
    else:
        endpoints = encoder_decoder_endpoints(model)
    endpoints.update(restoration_endpoints(model))  # complete / project (inpainting.py)
    archive, signatures, used = tf.Module(), {}, {}
    for name, (fn, specs) in endpoints.items():
        call = tf.function(fn, input_signature=specs, autograph=False)
        setattr(archive, name, call)
        signatures[name] = tf.function(named_outputs(call, output_names(model, name)), input_signature=specs,
                                       autograph=False).get_concrete_function()  # calls the traced `call`
        for concrete in (call.get_concrete_function(), signatures[name]):
            used.update({id(v): v for v in concrete.variables})
    # The tf.Variables the functions read, tracked as themselves (not through Keras's wrappers), as the
    # ExportArchive does: saved_model_cli's TF1 loader finds no variable otherwise.
    archive.used_variables = list(used.values())
    signatures["serving_default"] = signatures[next(iter(endpoints))]  # TF Serving's default: the first
    tf.saved_model.save(archive, str(path), signatures=signatures)
    info = {"family": type(model).__name__, "endpoints": sorted(endpoints), "image_shape": list(model.image_shape),
            "latent_dim": model.latent_dim, "pixel_range": list(pixel_range),
            "num_classes": getattr(model, "num_classes", None)}
    if isinstance(model, SequenceVAE):  # decode and sample take a length; this is the data's
        info["length"] = model.length
    (path / INFO_FILE).parent.mkdir(parents=True, exist_ok=True)
    (path / INFO_FILE).write_text(json.dumps(info, indent=2))
    return path
