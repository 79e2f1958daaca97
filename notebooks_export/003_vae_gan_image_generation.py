# %% [markdown]
# # 003 · VAE and GAN for image generation: algorithms, losses, code
#
# Companion notebook to document **003** (`../shared/seeds/003_*.txt`), a Chinese article on VAEs and
# GANs for image generation, with PyTorch examples. The cells follow the document's section order. Each
# section gets a short English summary with its Chinese title. The code cells do what the section meant
# to do, with `vae_gan_tf` on `mnist5k` (5,000 real MNIST digits bundled offline). This is the most
# accurate of the five documents, and the summaries point out its few errors.
#
# Run it from the repository root:
#
# ```bash
# python notebooks_export/003_vae_gan_image_generation.py --quick   # a few steps, well under a minute
# python notebooks_export/003_vae_gan_image_generation.py           # full settings, a few minutes
# ```
#
# Everything it writes (PNGs) goes to `notebooks_export/_out/003/`.
# `docs/corrections.md` itemises every claim and code block of the document (003-1, 003-2, …), with
# the library function and the test that cover each one.

# %%
from vae_gan_tf.report.notebook import NotebookSession

nb = NotebookSession("003", "Notebook 003: VAE and GAN for image generation", globals().get("__file__"))
QUICK, OUT, CONFIGS = nb.quick, nb.out, nb.configs
save, show_png = nb.save, nb.show_png

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from vae_gan_tf.config import load_config  # noqa: E402
from vae_gan_tf.data.pipeline import make_datasets  # noqa: E402
from vae_gan_tf.models import losses as L  # noqa: E402
from vae_gan_tf.models.catalog import build_model, compile_model  # noqa: E402
from vae_gan_tf.reference import formulas as F  # noqa: E402
from vae_gan_tf.reference.checks import collect_rows, format_table  # noqa: E402
from vae_gan_tf.report.plotting import save_curves, save_image_grid, save_reconstructions  # noqa: E402

QUICK_TRAIN = ["train.epochs=2", "train.steps_per_epoch=3", "train.batch_size=32",
               "data.validation_split=0.02"]

# %% [markdown]
# ## 1 Background ("1.背景介绍")
#
# GANs are trained adversarially. VAEs are probabilistic generative models.
#
# *Correction*: the document says a VAE maximises "the conditional log-likelihood of the input". It
# maximises a **lower bound** (the ELBO) on the **marginal** log-likelihood log p(x) = log ∫ p(x|z) p(z) dz.

# %% [markdown]
# ## 2 Core concepts ("2.核心概念与联系": "2.1 生成式对抗网络 (GANs)", "2.2 变分自动编码器 (VAEs)")
#
# §2.1 states the minimax game min_G max_D V(D, G) correctly. The sentence after it ("they compete to
# minimise V(D, G)") does not hold: only G minimises V, and D maximises it. §2.2 states the ELBO
# correctly as an **inequality**, log p(x) ≥ E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)). Document 000 wrote it
# as an equality (notebook 000).

# %% [markdown]
# ## 3.1 The GAN algorithm ("3.1 GAN算法流程")
#
# Steps a–f: draw noise and make fakes (a), score real and fake with D (b), update D (c), freeze D and
# make new fakes (d), score them with the frozen D (e), update G (f). This is what the library's
# `GAN.train_step` does. Its two halves are `discriminator_step` and `generator_step`, each with its own
# optimizer. Below we run a few alternating steps by hand, on doc 003 §4.2's fully connected GAN
# (`configs/gan_mnist.yaml`). We check that step c leaves G's weights alone and step f leaves D's alone.

# %%
gan_config = load_config(CONFIGS / "gan_mnist.yaml", QUICK_TRAIN if QUICK else ["train.epochs=60"])
mnist_gan = make_datasets(gan_config)  # pixels in [-1, 1] for the tanh generator
keras.utils.set_random_seed(gan_config.train.seed)
gan = compile_model(build_model(gan_config, mnist_gan.image_shape), gan_config)


def snapshot(network):
    return [w.numpy().copy() for w in network.trainable_weights]


def changed(before, network):
    return any(not np.array_equal(b, w.numpy()) for b, w in zip(before, network.trainable_weights))


batches = iter(mnist_gan.train)
for step in range(3):
    real = next(batches)
    g_before = snapshot(gan.generator)
    d_terms = gan.discriminator_step(real)  # steps a-c
    g_untouched = not changed(g_before, gan.generator)
    d_before = snapshot(gan.discriminator)
    g_terms = gan.generator_step(tf.shape(real)[0])  # steps d-f
    d_untouched = not changed(d_before, gan.discriminator)
    print(f"step {step}: d_loss {float(d_terms['d_loss']):.3f} (G unchanged: {g_untouched}), "
          f"g_loss {float(g_terms['g_loss']):.3f} (D unchanged: {d_untouched})")

# %% [markdown]
# ## 3.2 The VAE algorithm ("3.2 VAE算法流程")
#
# Steps 2–8 are a correct description of one training step: encode to (μ, σ²), sample z by
# reparameterization, decode, reconstruction loss plus KL, backpropagate. The library's `VAE` uses
# log σ² as the encoder's second output (any real number is valid, and σ² = exp(log σ²) > 0). Its default
# reconstruction term is the Bernoulli negative log-likelihood from logits. The document's "mean squared
# error" corresponds to `likelihood: gaussian`. One call of `train_step` runs steps 2–8 on one batch:

# %%
vae_config = load_config(CONFIGS / "vae_mlp_mnist5k.yaml", QUICK_TRAIN if QUICK else ["train.epochs=20"])
mnist = make_datasets(vae_config)  # pixels in [0, 1] for the Bernoulli likelihood
keras.utils.set_random_seed(vae_config.train.seed)
vae = compile_model(build_model(vae_config, mnist.image_shape), vae_config)
logs = vae.train_step(next(iter(mnist.train)))
print({k: round(float(v), 2) for k, v in logs.items()}, "-> loss = reconstruction + kl")

# %% [markdown]
# ## 4.1 The GAN loss ("4.1 GANs损失函数")
#
# *Three errors in this section* (and the opening sentence calls p_data "modelled by D" and says V is
# simply "minimised").
# 1. "The ideal discriminator D* **minimises** V(D, G), and the optimal generator G* **maximises**
#    V(D*, G)": this is the wrong way round. D* = argmax_D V(D, G) = p_data / (p_data + p_g), and G*
#    minimises C(G) = V(D*, G) = −log 4 + 2·JSD(p_data ‖ p_g), with minimum −log 4 at p_g = p_data
#    (Goodfellow et al. 2014, Prop. 1 and Thm. 1).
# 2. Training step 1, "train D by maximising log D(x) and **minimising** log(1 − D(G(z)))": D maximises
#    *both* terms of V, which pushes D(G(z)) towards 0.
# 3. Training step 2, "train G by **maximising** log(1 − D(G(z)))": G minimises it. In practice G
#    maximises log D(G(z)) instead (the non-saturating loss), which has the same fixed point and much
#    stronger gradients early on.
#
# The library's numerical checks (`vae_gan_tf.verify`) include the rows for these claims. Here they are,
# for this document and for the two GAN theorems:

# %%
rows = collect_rows(quick=True)
mine = [r for r in rows if "doc 003" in r.source or r.formula in ("F8", "F9")]
print(format_table(mine))
print(f"\n{sum(r.passed for r in mine)} of {len(mine)} rows pass")

# %% [markdown]
# The same two facts drawn on a 1-D example, by quadrature (`formulas.value_by_quadrature`), with
# p_data = N(0, 1). Left: for a fixed generator p_g = N(1, 1.5²), perturbing D away from D* only *lowers*
# V, so D* is a maximum. Right: over generators p_g = N(μ, 1), C(G) = max_D V(D, G) = −log 4 + 2·JSD is
# smallest, −log 4, at p_g = p_data (μ = 0).

# %%
grid = np.linspace(-15, 15, 30001)
dx = grid[1] - grid[0]


def normal_pdf(t, mean, std):
    return np.exp(-0.5 * ((t - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


p_data, p_g = normal_pdf(grid, 0.0, 1.0), normal_pdf(grid, 1.0, 1.5)
d_star = F.optimal_discriminator(p_data, p_g)
deltas = np.linspace(-0.9, 0.9, 37)
values = [F.value_by_quadrature(p_data, p_g, np.clip(d_star + d * d_star * (1 - d_star), 1e-12, 1 - 1e-12),
                                dx) for d in deltas]
mus = np.linspace(-3, 3, 25)
criterion = [F.virtual_training_criterion(F.jensen_shannon_divergence(p_data, normal_pdf(grid, m, 1.0), dx))
             for m in mus]

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].plot(deltas, values)
axes[0].axvline(0, color="k", lw=0.8)
axes[0].set_xlabel("δ in D = D* + δ·D*(1 − D*)")
axes[0].set_ylabel("V(D, G)")
axes[0].set_title("D* maximises V (doc 003 §4.1 says minimises)", fontsize=10)
axes[1].plot(mus, criterion)
axes[1].axhline(-np.log(4), color="k", lw=0.8, ls="--", label="−log 4")
axes[1].set_xlabel("generator mean μ, p_g = N(μ, 1)")
axes[1].set_ylabel("C(G) = max_D V(D, G)")
axes[1].set_title("G* minimises V(D*, G) (doc says maximises)", fontsize=10)
axes[1].legend(fontsize=8)
save(fig, "gan_value_min_max.png")

# %% [markdown]
# Why G should not simply minimise log(1 − D(G(z))) as the minimax formula says: the gradient with
# respect to D's logit l is −σ(l) = −D(G(z)). It **vanishes** when D confidently rejects the fakes, which
# is the usual situation early in training. The non-saturating loss −log D(G(z)) has gradient
# −(1 − D(G(z))), strongest exactly then. Both gradients below come from the library's loss functions
# through `tf.GradientTape`:

# %%
logit = tf.Variable(np.linspace(-8, 8, 161).astype(np.float32))
# Each loss is a batch mean, so scaling by n gives per-example gradients.
with tf.GradientTape(persistent=True) as tape:
    saturating = L.minimax_generator_loss(logit) * 161
    nonsaturating = L.nonsaturating_generator_loss(logit) * 161
grad_sat, grad_ns = tape.gradient(saturating, logit).numpy(), tape.gradient(nonsaturating, logit).numpy()
del tape
d_of_fake = F.sigmoid(logit.numpy())
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(d_of_fake, np.abs(grad_sat), label="|∂/∂l log(1 − D)| (minimax, the documents')")
ax.plot(d_of_fake, np.abs(grad_ns), label="|∂/∂l −log D| (non-saturating)")
ax.set_xlabel("D(G(z))")
ax.set_ylabel("gradient magnitude w.r.t. D's logit")
ax.legend(fontsize=8)
save(fig, "generator_loss_gradients.png")

# %% [markdown]
# ## 4.2 Reconstruction loss and KL ("4.2 VAEs重构损失与KL散度")
#
# log p_θ(x) = KL(q_φ(z|x) ‖ p_θ(z|x)) + L(θ, φ; x), with ELBO L = −KL(q ‖ p(z)) + E_q[log p(x|z)]. This
# is right, and the rows F1/F2 above check it on a linear-Gaussian model where log p(x) is exact. The
# ELBO equals log p(x) when q is the exact posterior, and otherwise falls short by exactly
# KL(q ‖ p(z|x)).
#
# *Corrections*: the last paragraph says training "fixes the encoder and maximises the reconstruction
# term to train the decoder, then minimises the KL to train the encoder, so that q gets as close as
# possible to the prior". Both networks are updated **together**, by the gradient of the single ELBO.
# The reconstruction term also trains the encoder, through z = μ + σ·ε. The best q approximates the
# posterior p(z|x), not the prior: the KL to the prior is a regulariser. Two wording slips: L is called
# "其中负项" (the negative term) although it is the ELBO itself, and E_q[log p(x|z)] is called the
# "reconstruction loss" although it is the *negative* of that loss.

# %% [markdown]
# ## 4 Project practice: the VAE example ("4.项目实践:代码实例和详细解释说明", "4.1 VAE示例")
#
# The PyTorch VAE is 784-512-256-64 with separate μ and log σ² layers, std = exp(½ log σ²) and the KL
# formula −½ Σ(1 + log σ² − μ² − σ²). All of that is right, and it is `configs/vae_mlp_mnist5k.yaml`. Two
# details differ in the library:
# - `torch.sigmoid` followed by `binary_cross_entropy` takes the log of a probability. The library
#   computes the Bernoulli likelihood from logits, which stays finite for any logit.
# - `reduction='sum'` sums over the batch, so the printed loss (the last batch's sum) depends on the
#   batch size. The library reports nats per image.
#
# We continue training the model from 3.2 with `fit`:

# %%
vae_history = vae.fit(mnist.train, epochs=vae_config.train.epochs, steps_per_epoch=mnist.steps_per_epoch,
                      validation_data=mnist.validation, verbose=0, shuffle=False).history
print({k: round(v[-1], 2) for k, v in vae_history.items()})
z = np.random.default_rng(1).standard_normal((64, vae.latent_dim)).astype(np.float32)
save_image_grid(vae.generate(z).numpy(), OUT / "vae_samples.png", title="VAE (784-512-256-64): samples")
show_png(OUT / "vae_samples.png")
held_out = mnist.validation_images[:16]
save_reconstructions(held_out, vae.decode(vae.encode(held_out)[0]).numpy(), OUT / "vae_reconstructions.png")
show_png(OUT / "vae_reconstructions.png")
save_curves(vae_history, OUT / "vae_curves.png")

# %% [markdown]
# ## 4.2 The GAN example ("4.2 GAN示例")
#
# The document is cut off in the middle of the discriminator, so its GAN loop is missing. The generator
# that is shown, z → h → h → x with ReLU and a sigmoid output, is the library's MLP generator, with tanh
# output on images scaled to [−1, 1] (`configs/gan_mnist.yaml`). The library supplies what the truncated
# code would need: two optimizers, the alternating steps of 3.1 and the non-saturating generator loss.
# We continue training the GAN from 3.1 with `fit`, which runs exactly those steps. The full run is 60
# epochs of 70 steps. After that, a fully connected GAN on 4,500 digits still draws rough, speckled
# digits. The convolutional DCGAN of notebook 002 does better per step.

# %%
gan_history = gan.fit(mnist_gan.train, epochs=gan_config.train.epochs,
                      steps_per_epoch=mnist_gan.steps_per_epoch, verbose=0, shuffle=False).history
print({k: round(v[-1], 3) for k, v in gan_history.items()})
z = np.random.default_rng(2).standard_normal((64, gan.latent_dim)).astype(np.float32)
save_image_grid(gan.generate(z).numpy(), OUT / "gan_samples.png", pixel_range=(-1.0, 1.0),
                title="GAN (MLP, non-saturating): samples")
show_png(OUT / "gan_samples.png")
save_curves(gan_history, OUT / "gan_curves.png")
show_png(OUT / "gan_curves.png")
