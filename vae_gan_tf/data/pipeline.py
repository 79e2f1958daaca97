"""From a ``DataConfig`` to ``tf.data`` pipelines.

Each pass over the training images is a stateless random permutation of their indices; batches of
indices gather the images from memory, then ``[binarize] -> prefetch``. ``drop_remainder`` keeps
every replica's batch non-empty under ``tf.distribute``. Models that need more than the images get a
*side input* gathered with the same indices, and batches ``(x, side)``: class labels for conditional
models, the per-step mask of variable-length sequences for the sequence VAE (:func:`side_input`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Optional

import numpy as np
import tensorflow as tf

from vae_gan_tf.config import Config, check_image_shape, images_per_step
from vae_gan_tf.data.pixels import from_unit_range, pixel_range
from vae_gan_tf.data.source_names import SEQUENCE_SOURCES, TOY_SOURCES
from vae_gan_tf.data.sources import ImageArrays, load_source
from vae_gan_tf.errors import UserError

# The validation split is drawn with its own fixed seed so that it is the same for every run.
SPLIT_SEED = 20140101


@dataclass
class DataBundle:
    """What the model and the callbacks need from the data."""

    train: tf.data.Dataset  # batches of images, scaled
    validation: Optional[tf.data.Dataset]
    image_shape: tuple  # (H, W, C) for images, (2,) for points
    train_images: np.ndarray  # scaled, for building the model and for pictures
    validation_images: Optional[np.ndarray]
    train_labels: Optional[np.ndarray]
    validation_labels: Optional[np.ndarray]
    steps_per_epoch: int
    train_side: Optional[np.ndarray] = None  # what the batches carry beside x (side_input), if anything
    validation_side: Optional[np.ndarray] = None


def prepare_images(arrays: ImageArrays, config: Config) -> np.ndarray:
    """Resize / convert channels to the shape the model sees, still in [0, 1]. Points (N, 2) and
    sequences (N, T, F) pass unchanged."""
    images = arrays.images
    if images.ndim < 4:
        return images
    h, w, c = check_image_shape(config, images.shape[1:])
    if images.shape[-1] != c:
        if c == 3:
            images = np.repeat(images, 3, axis=-1)
        else:  # ITU-R BT.601 luma
            images = (images @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    if images.shape[1:3] != (h, w):
        images = tf.image.resize(images, (h, w), method="area" if h < images.shape[1] else "bilinear",
                                 antialias=True).numpy()
        images = np.clip(images, 0.0, 1.0)
    return images.astype(np.float32)


def binarize(images: tf.Tensor, seed: int, index: tf.Tensor) -> tf.Tensor:
    """Dynamic binarization (Salakhutdinov & Murray 2008): x_b ~ Bernoulli(x), drawn anew for every
    batch of the stream; the draw is a function of (seed, index of the batch's first element), so it
    survives a resume."""
    noise = tf.random.stateless_uniform(tf.shape(images), seed=tf.stack([tf.cast(seed, tf.int64), index]))
    return tf.cast(noise < images, images.dtype)


def split_validation(n: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation) from a fixed permutation: the same split for every run.

    The indices stay in permuted order so that the first held-out images (the ones shown in
    reconstructions.png) are a random mix even when a source is sorted by class, as mnist5k is.
    """
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_val = int(round(n * fraction))
    return order[n_val:], order[:n_val]


def interleave_for_replicas(batch: tf.Tensor, chunks: int, replicas: int) -> tf.Tensor:
    """Reorder a step's rows from [chunk][replica][row] to [replica][chunk][row].

    ``tf.distribute`` gives replica r the r-th contiguous block of the global batch, and a GAN's
    ``train_step`` splits its block into ``d_steps`` chunks. After this reordering, chunk i on every
    replica holds the rows that chunk i holds on one device, so any replica count trains identically.
    """
    shape = tf.shape(batch)
    per = shape[0] // (chunks * replicas)
    grid = tf.reshape(batch, tf.concat([[chunks, replicas, per], shape[1:]], 0))
    order = tf.concat([[1, 0, 2], tf.range(3, tf.rank(grid))], 0)
    return tf.reshape(tf.transpose(grid, order), shape)


def side_input(config: Config, arrays: ImageArrays) -> Optional[np.ndarray]:
    """What the model needs beside the images, aligned with them: int32 class labels for a model with
    ``num_classes`` (conditional), the float32 (N, T) step mask of a variable-length sequence source,
    else None. A conditional model on a source without labels is a UserError."""
    classes = getattr(config.model, "num_classes", None)
    if classes is not None:
        if arrays.labels is None:
            raise UserError(f"data.source {config.data.source!r} has no labels, which model.name="
                            f"{config.model.name} needs; use a labelled source (mnist5k, digits, mnist, idx:DIR "
                            "with a labels file, npz:FILE with y, folder:DIR with one sub-folder per class)")
        low, high = int(arrays.labels.min()), int(arrays.labels.max())
        if low < 0 or high >= classes:
            raise UserError(f"data.source {config.data.source!r} has labels {low}..{high}, outside 0.."
                            f"{classes - 1}; set model.num_classes={high + 1}")
        return arrays.labels.astype(np.int32)
    return arrays.mask


def batched(images: np.ndarray, batch_size: int, *, shuffle: bool = False, seed: int = 0,
            dynamic_binarization: bool = False, repeat: bool = False, skip_batches: int = 0,
            chunks: int = 1, replicas: int = 1, side: Optional[np.ndarray] = None) -> tf.data.Dataset:
    """A dataset of full batches of ``images``; with ``shuffle``, every pass is a new random permutation.

    Pass p is permuted by ``stateless_shuffle`` with the seed (``seed``, p), so the order is a function
    of the pass alone: neither the number of iterators made over the dataset (``tf.distribute`` and
    Keras make more than one) nor a restart changes it. ``repeat`` makes the stream endless, for
    ``fit(steps_per_epoch=...)``. ``skip_batches`` starts the stream where a run that already took that
    many batches stands, so a resumed run sees the batches the uninterrupted one would have.
    ``chunks`` > 1 with ``replicas`` > 1 applies :func:`interleave_for_replicas`. With ``side`` (an array
    aligned with ``images``), the batches are ``(x, side rows)`` with the same reordering. The auto-shard policy
    is DATA: the data is in memory, so every worker builds the same stream and keeps its share of each
    batch (KERAS3_FACTS.md, tf.distribute).
    """
    n = len(images)
    pixels = tf.constant(images)
    first_element = skip_batches * batch_size
    first_pass = first_element // n

    def pass_order(index):
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([tf.constant(seed, tf.int64), index]))
        return tf.data.Dataset.from_tensor_slices(order)

    passes = tf.data.Dataset.range(first_pass, 2**62 if repeat else first_pass + 1)
    ds = passes.flat_map(pass_order).enumerate(start=first_pass * n).skip(first_element - first_pass * n)
    ds = ds.batch(batch_size, drop_remainder=True)
    # flat_map hides the size; Keras needs it to iterate a finite (validation) set cleanly.
    remaining = (n - (first_element - first_pass * n)) // batch_size
    ds = ds.apply(tf.data.experimental.assert_cardinality(tf.data.INFINITE_CARDINALITY if repeat else remaining))
    side_values = None if side is None else tf.constant(side)

    def gather(i, rows):
        x = tf.gather(pixels, rows)
        if dynamic_binarization:
            x = binarize(x, seed, i[0])
        if chunks > 1 and replicas > 1:
            x = interleave_for_replicas(x, chunks, replicas)
        if side_values is None:
            return x
        extra = tf.gather(side_values, rows)
        return x, interleave_for_replicas(extra, chunks, replicas) if chunks > 1 and replicas > 1 else extra

    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def train_stream(config: Config, train_images: np.ndarray, steps_per_epoch: int, start_epoch: int = 0,
                 replicas: int = 1, start_step: int = 0, side: Optional[np.ndarray] = None):
    """The endless, shuffled training batches, positioned after ``start_epoch`` epochs and ``start_step``
    steps of the next (for a resume)."""
    return batched(train_images, images_per_step(config), shuffle=True,
                   seed=config.train.seed, dynamic_binarization=config.data.binarize, repeat=True,
                   skip_batches=start_epoch * steps_per_epoch + start_step,
                   chunks=getattr(config.model, "d_steps", 1),
                   replicas=replicas, side=side)


def make_datasets(config: Config, replicas: int = 1) -> DataBundle:
    """Load ``config.data.source`` and build the train and validation pipelines for ``replicas``."""
    d, t = config.data, config.train
    arrays = load_source(d.source, "train", d.image_size)
    side = side_input(config, arrays)
    images = prepare_images(arrays, config)
    train_idx, val_idx = split_validation(len(images), d.validation_split)
    batch = images_per_step(config)
    if len(train_idx) < batch:
        raise UserError(f"data source {d.source!r} leaves {len(train_idx)} training images, fewer than the "
                        f"{batch} one step needs (train.batch_size x model.d_steps); lower train.batch_size "
                        "or data.validation_split")
    scale = "unit" if d.source in TOY_SOURCES + SEQUENCE_SOURCES else d.scale  # not pixels: never rescaled
    train_images = from_unit_range(images[train_idx], pixel_range(scale))
    val_images = from_unit_range(images[val_idx], pixel_range(scale)) if len(val_idx) else None
    if val_images is not None and d.binarize and d.source not in TOY_SOURCES:  # fixed, for held-out images
        val_images = (np.random.default_rng(SPLIT_SEED).random(val_images.shape) < val_images).astype(np.float32)
    labels = arrays.labels
    train_side = side[train_idx] if side is not None else None
    val_side = side[val_idx] if side is not None and len(val_idx) else None
    steps = len(train_idx) // batch
    if t.steps_per_epoch is not None:
        if t.steps_per_epoch > steps:  # a cap, not a target: say that it did not apply
            print(f"warning: train.steps_per_epoch={t.steps_per_epoch} is more than one pass over the "
                  f"{len(train_idx)} training images ({steps} steps of {batch}); an epoch is {steps} steps",
                  file=sys.stderr)
        steps = min(steps, t.steps_per_epoch)
    # Keras 3.15's EpochIterator runs whole executions of steps_per_execution steps on an endless stream, so
    # an epoch trains that many steps rounded up; say so, or a resume skips too few batches.
    steps = -(-steps // t.steps_per_execution) * t.steps_per_execution
    train_ds = train_stream(config, train_images, steps, replicas=replicas, side=train_side)
    val_ds = None
    if val_images is not None and len(val_images) >= batch:
        val_ds = batched(val_images, batch, side=val_side)
    return DataBundle(
        train=train_ds, validation=val_ds, image_shape=tuple(images.shape[1:]),
        train_images=train_images, validation_images=val_images,
        train_labels=labels[train_idx] if labels is not None else None,
        validation_labels=labels[val_idx] if labels is not None and len(val_idx) else None,
        steps_per_epoch=steps, train_side=train_side, validation_side=val_side,
    )
