"""PacGAN packing (Lin et al. 2018, §3): the discriminator judges m samples at once.

A batch of B samples of shape (..., C) becomes B/m packs of shape (..., m·C): sample j of pack i is
x[i·m + j], and its channels (the last axis: the two coordinates of a 2-D point, or an image's colour
channels) take places j·C .. (j+1)·C − 1 of the pack's last axis. Real samples are packed with real ones
and generated with generated ones, so D sees the distribution of m-tuples, in which a collapsed
generator's lack of diversity is visible (the paper's Theorem 3). m = 1 is the unpacked GAN.
"""

from __future__ import annotations

import tensorflow as tf


def packed_shape(sample_shape, pack: int) -> tuple[int, ...]:
    """The shape of one pack of ``pack`` samples of ``sample_shape``: the last axis times ``pack``."""
    sample_shape = tuple(int(s) for s in sample_shape)
    return sample_shape[:-1] + (sample_shape[-1] * int(pack),)


def pack_samples(x: tf.Tensor, pack: int) -> tf.Tensor:
    """(B, d1, .., dk, C) -> (B/m, d1, .., dk, m·C) with pack i = samples i·m .. i·m + m − 1 (module docstring).

    B must be divisible by m (the config and ``distribute.check_batch`` refuse other batches); m = 1 returns x.
    """
    if pack == 1:
        return x
    rank = x.shape.rank
    grouped = tf.reshape(x, tf.concat([[-1, pack], tf.shape(x)[1:]], 0))  # (B/m, m, d1, .., dk, C)
    # Move the sample axis beside the channels: (B/m, d1, .., dk, m, C), then merge the two.
    order = [0] + list(range(2, rank)) + [1, rank]
    moved = tf.transpose(grouped, order)
    return tf.reshape(moved, tf.concat([[-1], tf.shape(x)[1:-1], [pack * x.shape[-1]]], 0))
