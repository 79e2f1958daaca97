"""Completion of missing pixels and projection onto a generator's range, the uses that doc 002 §1.5
(图像补充 image completion) and doc 004 §5 (降噪 denoising) promise for both families.

- VAE family (VAE, β-VAE, CVAE, VAE/GAN, autoencoder): the missing-data Markov chain of Rezende, Mohamed &
  Wierstra 2014 (their missing-data imputation experiment): encode, decode, put the known pixels back, repeat.
- GAN family (GAN, DCGAN, WGAN, CGAN): the latent optimisation of Yeh et al. 2017 ("Semantic image
  inpainting with deep generative models", CVPR 2017): z* = argmin_z L_c(z) + λ·L_p(z), Adam on z from several
  random starts at once, then the known pixels are put back over G(z*).

Both work in the model's own pixel range and return a dict of named tensors: the families' SavedModel
endpoints ``complete`` and ``project`` call them (their ``endpoints`` methods, written by runs/export.py).
A mask is 1 on known pixels, 0 on missing ones.
"""

from __future__ import annotations

import tensorflow as tf

PERCEPTUAL_WEIGHT = 0.003  # λ, the value Yeh et al. 2017 used (not re-tuned for these models)
LEARNING_RATE = 0.05  # Adam on z; Yeh et al. used 0.03 with momentum 0.9
RESTARTS = 4  # random starts per image, all optimised in one batch
ADAM_BETAS = (0.9, 0.999)


def put_back_known(x, mask, estimate):
    """x̂ = M ⊙ x + (1 − M) ⊙ estimate: every known pixel exactly as given (Yeh et al.'s blend, without their
    Poisson step, which only smooths the seam)."""
    return mask * x + (1.0 - mask) * estimate


def markov_chain_completion(reconstruct, x, mask, iterations, fill=0.0):
    """Rezende et al. 2014 (missing-data imputation): start from the known pixels (missing ones at
    ``fill``) and iterate x ← M ⊙ x + (1 − M) ⊙ reconstruct(x) ``iterations`` times. ``reconstruct`` is
    the decoder mean at the posterior mean, so this is the chain's noise-free version (Rezende et al. sample
    z and x)."""
    start = put_back_known(x, mask, tf.fill(tf.shape(x), tf.cast(fill, x.dtype)))
    _, current = tf.while_loop(
        lambda i, _: i < iterations,
        lambda i, c: (i + 1, put_back_known(x, mask, reconstruct(c))),
        (tf.constant(0), start),
    )
    return {"images": current}


def contextual_loss(x, generated, mask):
    """Yeh et al. 2017's contextual loss with uniform weights: L_c = ‖M ⊙ (G(z) − x)‖₁, summed per example,
    shape (N,).
    (They also weight each known pixel by its share of missing neighbours; uniform weights let the same loss
    serve projection, where every pixel is known.)"""
    return tf.reduce_sum(tf.reshape(tf.abs(mask * (generated - x)), [tf.shape(x)[0], -1]), axis=1)


def perceptual_loss(scores, critic: bool):
    """Yeh et al. 2017's perceptual loss, L_p = log(1 − D(G(z))) = −softplus(logit), per example. For a critic
    (WGAN, or any D whose output is a raw score) the realness is the score itself: L_p = −score."""
    scores = tf.reshape(scores, [-1])
    return -scores if critic else -tf.nn.softplus(scores)


def adam_update(z, gradient, m, v, step, learning_rate):
    """One Adam step (Kingma & Ba 2015, Algorithm 1) on a plain tensor; returns (z, m, v)."""
    beta_1, beta_2 = ADAM_BETAS
    m = beta_1 * m + (1.0 - beta_1) * gradient
    v = beta_2 * v + (1.0 - beta_2) * tf.square(gradient)
    m_hat = m / (1.0 - beta_1**step)
    v_hat = v / (1.0 - beta_2**step)
    return z - learning_rate * m_hat / (tf.sqrt(v_hat) + 1e-8), m, v


def latent_optimisation(
    generate,
    score,
    x,
    mask,
    steps,
    latent_dim: int,
    critic: bool = False,
    perceptual_weight: float = PERCEPTUAL_WEIGHT,
    restarts: int = RESTARTS,
    seed: int = 0,
):
    """Yeh et al. 2017: minimise L_c + λ·L_p over z for every image, from ``restarts`` starts
    z₀ ~ N(0, I) drawn with a fixed seed (so a call is reproducible), in one batch; the step size decays
    linearly to 0 over ``steps`` so that Adam settles on the L1 minimum. Keeps each image's start with the
    lowest final loss. ``generate(z)`` -> images, ``score(images)`` -> D's logits (or critic scores).

    Returns ``images`` (known pixels put back over G(z*)), ``generated`` (G(z*), the projection onto G's
    range), ``z`` and ``loss``.
    """
    batch = tf.shape(x)[0]
    tiled_x, tiled_mask = tf.tile(x, [restarts, 1, 1, 1]), tf.tile(mask, [restarts, 1, 1, 1])
    z = tf.random.stateless_normal(tf.stack([restarts * batch, latent_dim]), seed=[seed, 0])

    def total_loss(z):
        generated = generate(z)
        return (
            contextual_loss(tiled_x, generated, tiled_mask)
            + perceptual_weight * perceptual_loss(score(generated), critic)
        ), generated

    total = tf.cast(tf.maximum(steps, 1), tf.float32)

    def step(i, z, m, v):
        with tf.GradientTape() as tape:
            tape.watch(z)
            loss, _ = total_loss(z)
        t = tf.cast(i, tf.float32) + 1.0
        return (
            i + 1,
            *adam_update(z, tape.gradient(loss, z), m, v, t, LEARNING_RATE * (1.0 - (t - 1.0) / total)),
        )

    _, z, _, _ = tf.while_loop(
        lambda i, *_: i < steps, step, (tf.constant(0), z, tf.zeros_like(z), tf.zeros_like(z))
    )
    loss, generated = total_loss(z)
    best = tf.argmin(tf.reshape(loss, [restarts, batch]), axis=0, output_type=tf.int32)  # (batch,)
    pick = best * batch + tf.range(batch)
    generated = tf.gather(generated, pick)
    return {
        "images": put_back_known(x, mask, generated),
        "generated": generated,
        "z": tf.gather(z, pick),
        "loss": tf.gather(loss, pick),
    }
