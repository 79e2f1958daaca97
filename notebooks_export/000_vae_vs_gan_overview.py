# %% [markdown]
# # 000 · VAE vs GAN: an overview, corrected and run
#
# Companion notebook to document **000** (`../shared/seeds/000_*.txt`), a Chinese overview that
# compares variational autoencoders (VAEs) and generative adversarial networks (GANs). The cells follow
# the document's section order. Each section gets a short English summary with its Chinese title. The
# code cells then do what the section's code or formula meant to do, using `vae_gan_tf`. Where the
# document is wrong, the summary says so and shows what the library does instead.
#
# Run it from the repository root:
#
# ```bash
# python notebooks_export/000_vae_vs_gan_overview.py --quick   # a few training steps, well under a minute
# python notebooks_export/000_vae_vs_gan_overview.py           # full settings, a few minutes on 2 CPU cores
# ```
#
# Everything it writes (run folders, PNGs) goes to `notebooks_export/_out/000/`.
# `docs/corrections.md` itemises every claim and code block of the document (000-1, 000-2, …), with
# the library function and the test that cover each one.

# %%
from vae_gan_tf.report.notebook import NotebookSession

nb = NotebookSession("000", "Notebook 000: VAE vs GAN overview", globals().get("__file__"))
QUICK, OUT, CONFIGS = nb.quick, nb.out, nb.configs
save, show_png, fresh_run_dir = nb.save, nb.show_png, nb.fresh_run_dir

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from vae_gan_tf.config import load_config  # noqa: E402
from vae_gan_tf.data.pipeline import make_datasets  # noqa: E402
from vae_gan_tf.data.toy2d import mixture  # noqa: E402
from vae_gan_tf.evaluation.metrics.modes import mode_coverage  # noqa: E402
from vae_gan_tf.models import losses as L  # noqa: E402
from vae_gan_tf.models.catalog import build_model, compile_model, register_all  # noqa: E402
from vae_gan_tf.reference import formulas as F  # noqa: E402
from vae_gan_tf.report.plotting import read_history, save_image_grid, save_scatter  # noqa: E402
from vae_gan_tf.training.fit import train_run  # noqa: E402

# %% [markdown]
# ## 1 Background ("1.背景介绍": "1.1 变分自编码器（VAE）", "1.2 生成对抗网络（GAN）")
#
# A VAE is a probabilistic generative model: an encoder maps x to a distribution over a low-dimensional
# latent z and a decoder maps z back to a distribution over x. A GAN trains a generator G(z) against a
# discriminator D(x) that tries to tell real samples from generated ones.
#
# *Correction.* The document says the VAE is learned "通过最大化下降法" (by a "maximising descent").
# What is maximised is a **lower bound** on log p(x), the ELBO, by stochastic gradient ascent (in
# practice: gradient descent on −ELBO).

# %% [markdown]
# ## 2 Core concepts ("2.核心概念与联系": "2.1 变分自编码器（VAE）", "2.2 生成对抗网络（GAN）", "2.3 相似之处和区别")
#
# Latent variable, parameterised distributions and "变分下降（Variational Inference）" for the VAE;
# generator, discriminator and adversarial learning for the GAN; then a side-by-side comparison.
#
# *Corrections.* "变分下降" is not a descent method: variational *inference* approximates the intractable
# posterior p(z|x) by q(z|x) and turns learning into maximising the ELBO. The GAN's discriminator does
# not "learn the data generating distribution" either: it learns a classifier. Its optimum,
# D*(x) = p_data(x) / (p_data(x) + p_g(x)), involves both densities, but only G models the data.

# %% [markdown]
# ## 3.1 The VAE's probability model and objective ("3.1.1 概率模型", "3.1.2 变分下降", also "3.3.1 变分自编码器（VAE）")
#
# Prior p(z) = N(0, I), likelihood p_θ(x|z), approximate posterior q_φ(z|x).
#
# *Two corrections.*
# 1. The document writes p_θ(x) = p(x|z; θ). The marginal likelihood is an **integral**,
#    p_θ(x) = ∫ p_θ(x|z) p(z) dz, and that integral is what makes the problem hard.
# 2. It writes log p_θ(x) **=** E_q[log p_θ(x|z)] − KL(q_φ(z|x) ‖ p(z)). That is wrong: the right-hand
#    side is the ELBO and log p(x) = ELBO + KL(q_φ(z|x) ‖ p_θ(z|x)) ≥ ELBO. Equality holds only when q
#    is the true posterior. (The KL term is also a divergence, not a "距离" (distance): it is not symmetric.)
#
# The cell below checks this on the one model where log p(x) and p(z|x) are exact: a linear-Gaussian
# decoder (probabilistic PCA), with `vae_gan_tf.reference.formulas`. We slide the mean of q(z|x) away from the
# true posterior mean. The Monte Carlo ELBO stays below log p(x), and the gap equals the closed-form
# KL(q ‖ p(z|x)).

# %%
rng = np.random.default_rng(0)
data_dim, latent_dim, noise_std = 5, 2, 0.5
basis, _ = np.linalg.qr(rng.normal(size=(data_dim, latent_dim)))
W = basis * np.array([2.0, 0.8])  # orthogonal columns, so the exact posterior is diagonal
b = rng.normal(size=data_dim)
x = b + W @ rng.normal(size=latent_dim) + noise_std * rng.normal(size=data_dim)

log_px = float(F.linear_gaussian_log_evidence(x, W, b, noise_std))
post_mean, post_cov = F.linear_gaussian_posterior(x, W, b, noise_std)
post_var = np.diag(post_cov)
eps = rng.standard_normal((2_000 if QUICK else 50_000, latent_dim))  # common random numbers


def elbo_monte_carlo(q_mean, q_var):
    """(ELBO estimate, its standard error): E_q[log p(x|z)] by Monte Carlo, the KL in closed form."""
    z = F.reparameterize(q_mean, np.log(q_var), eps)
    log_lik = F.gaussian_log_likelihood(np.broadcast_to(x, (len(z), data_dim)), z @ W.T + b, noise_std)
    value = F.elbo(log_lik.mean(), F.kl_to_standard_normal(q_mean, np.log(q_var)))
    return float(value), float(log_lik.std() / np.sqrt(len(z)))


shifts = np.linspace(-1.5, 1.5, 13)
elbos, errors = np.array([elbo_monte_carlo(post_mean + [s, 0.0], post_var) for s in shifts]).T
gaps = np.array([F.kl_diagonal_gaussians(post_mean + [s, 0.0], post_var, post_mean, post_var)
                 for s in shifts])
print(f"log p(x) (exact)            = {log_px:.4f}")
middle = len(shifts) // 2
print(f"ELBO at the true posterior  = {elbos[middle]:.4f} ± {errors[middle]:.4f} (Monte Carlo s.e.)")
print("ELBO + KL(q‖p(z|x)) − log p(x), in standard errors:", np.round((elbos + gaps - log_px) / errors, 1))
assert np.all(elbos <= log_px + 4 * errors), "the ELBO must not exceed log p(x)"

fig, ax = plt.subplots(figsize=(5.5, 3.6))
ax.axhline(log_px, color="k", lw=1, label="log p(x) (exact)")
ax.plot(shifts, elbos, "o-", label="ELBO (Monte Carlo)")
ax.plot(shifts, log_px - gaps, "--", label="log p(x) − KL(q ‖ p(z|x))")
ax.set_xlabel("shift of q's mean from the posterior mean (latent dim 0)")
ax.set_ylabel("nats")
ax.set_title("log p(x) ≥ ELBO, not '=' (doc 000 §3.1.2)", fontsize=10)
ax.legend(fontsize=8)
save(fig, "elbo_gap_linear_gaussian.png")

# %% [markdown]
# The KL term of the ELBO has a closed form for a Gaussian q and the N(0, I) prior.
# `losses.kl_divergence_normal` is the library's version of it. Here it is compared with a Monte Carlo
# estimate E_q[log q(z|x) − log p(z)].

# %%
mean, log_var = np.array([[0.7, -1.2, 0.1]]), np.array([[-0.5, 0.8, -2.0]])
z = F.reparameterize(mean, log_var, rng.standard_normal((20_000, 3)))
kl_mc = np.mean(F.log_normal_density(z, mean, log_var) - F.log_normal_density(z, 0 * z, 0 * z))
kl_closed = float(L.kl_divergence_normal(tf.constant(mean, tf.float32), tf.constant(log_var, tf.float32))[0])
print(f"KL closed form (library) = {kl_closed:.4f}, Monte Carlo = {kl_mc:.4f}")

# %% [markdown]
# ## 3.2 The GAN ("3.2.1 生成器和判别器", "3.2.2 对抗学习", "3.3.2 生成对抗网络（GAN）")
#
# G(z) = x', D(x) = sigmoid(F(x)), and the minimax game
# min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))]. That formula is right.
#
# Computing it as written, `log(1 - sigmoid(F))` on probabilities, breaks in float32 once D is
# confident: 1 − D rounds to 0 and the log is −inf. The library never forms the probability. It keeps
# the logit F(x) and uses log D = −softplus(−F), log(1 − D) = −softplus(F).

# %%
logits = np.array([-40.0, -5.0, 0.0, 5.0, 20.0, 40.0], np.float32)
with np.errstate(divide="ignore"):
    naive = np.log(1.0 - tf.sigmoid(logits).numpy())  # the documents' way, in float32
library = [float(L.minimax_generator_loss(tf.constant([v]))) for v in logits]  # E log(1 - D(G(z)))
for v, a, c in zip(logits, naive, library):
    print(f"logit {v:6.1f}: log(1 - sigmoid) naive = {a:10.4f}   library = {c:10.4f}")

# %% [markdown]
# ## 4.1 The VAE code ("4.1 变分自编码器（VAE）")
#
# The document's TensorFlow VAE would not run, and it would not be a VAE if it did:
# - `layers.Model` does not exist (it is `keras.Model`), and a new `Dense` layer is created inside
#   `VAE.call` on every call.
# - The encoder has one head (`mean`) and returns a hidden activation as a second output. There is no
#   log-variance head, no sampling and no reparameterization.
# - `compile(loss='mse')` has no KL term. The decoder returns a 2-D tanh vector and a tuple, not an image.
#
# The library's `VAE` has separate mean and log-variance heads, samples z = μ + exp(½ log σ²)·ε, and
# minimises −ELBO with a Bernoulli likelihood from logits. We keep the document's small dense network
# (128-64-32) and its **2-D latent space**, which lets us draw the latent space itself. The data is
# `mnist5k`, the 5,000 MNIST digits bundled offline.

# %%
vae_overrides = ["model.architecture=mlp", "model.hidden_units=[128, 64, 32]", "model.latent_dim=2"]
if QUICK:
    vae_overrides += ["train.epochs=2", "train.steps_per_epoch=3", "train.batch_size=32"]
else:
    vae_overrides += ["train.epochs=40", "train.batch_size=64"]
vae_config = load_config(CONFIGS / "vae_mnist5k.yaml", vae_overrides)
mnist = make_datasets(vae_config)
tf.keras.utils.set_random_seed(vae_config.train.seed)
vae = compile_model(build_model(vae_config, mnist.image_shape), vae_config)
history = vae.fit(mnist.train, epochs=vae_config.train.epochs, steps_per_epoch=mnist.steps_per_epoch,
                  validation_data=mnist.validation, verbose=0, shuffle=False).history
print({k: round(v[-1], 2) for k, v in history.items()})

# %%
z_prior = np.random.default_rng(1).standard_normal((64, 2)).astype(np.float32)
save_image_grid(vae.generate(z_prior).numpy(), OUT / "vae_samples.png",
                title="VAE: decoder mean for z ~ N(0, I)")
show_png(OUT / "vae_samples.png")

mean_val = np.asarray(vae.encode(mnist.validation_images)[0])
fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
points = axes[0].scatter(mean_val[:, 0], mean_val[:, 1], c=mnist.validation_labels, cmap="tab10", s=6)
fig.colorbar(points, ax=axes[0], label="digit")
axes[0].set_title("means of q(z|x), held-out digits", fontsize=10)
axes[0].set_xlabel("z1")
axes[0].set_ylabel("z2")
side = 12
grid = np.linspace(-2.0, 2.0, side)
codes = np.array([[zx, zy] for zy in grid[::-1] for zx in grid], np.float32)
images = vae.generate(codes).numpy().reshape(side, side, 28, 28)
axes[1].imshow(images.transpose(0, 2, 1, 3).reshape(side * 28, side * 28), cmap="gray")
axes[1].set_title("decoder means on a grid of z in [-2, 2]²", fontsize=10)
axes[1].axis("off")
save(fig, "vae_latent_space.png")

# %% [markdown]
# ## 4.2 The GAN code ("4.2 生成对抗网络（GAN）")
#
# The document's TensorFlow GAN has the typical bugs of all five documents:
# - It creates `Reshape` and `Conv2DTranspose` layers inside `call`, so they are never trained.
# - The shapes are wrong: the generator reaches 32×32×3 and then applies a `Dense` with 16 units, while
#   the images are 28×28×1. It rescales its tanh output with `(x + 127.5) / 127.5`, which gives values
#   near 1 while the real images are in [−1, 1].
# - The loss is computed inside `call` from `log` of probabilities. `compile(optimizer='adam', loss='mse')`
#   gives both players **one** optimizer and a loss unrelated to V(D, G), and D and G are never updated
#   in alternation.
#
# The library's `GAN` has two optimizers. `train_step` alternates the updates: D on a real and a
# generated batch, then G through the frozen D. Every loss works from logits. Here it is trained with
# `train_run` on `ring8`, eight Gaussians on the unit circle. On this toy data a missed mode (mode
# collapse) is visible and countable. The run folder gets a scatter per epoch and mode coverage in
# `history.csv`.

# %%
gan_overrides = ["train.epochs=2", "train.steps_per_epoch=3", "train.batch_size=64"] if QUICK else []
gan_config = load_config(CONFIGS / "gan_ring8.yaml", gan_overrides)
gan_run = fresh_run_dir("gan_ring8")
gan_metrics = train_run(gan_config, gan_run, verbose=0)
print("final:", {k: round(v, 3) for k, v in gan_metrics["final"].items()})
gan_history = read_history(gan_run / "history.csv")

# %%
# The run folder's model.keras reloads with its optimizers (register_all registers the model classes).
register_all()
gan = keras.models.load_model(gan_run / "model.keras")
means, std = mixture("ring8")
z_eval = np.random.default_rng(2).standard_normal((2500, gan.latent_dim)).astype(np.float32)
samples = gan.generate(z_eval).numpy()
captured, high_quality = mode_coverage(samples, means, std)
save_scatter(samples, OUT / "gan_ring8_samples.png", means,
             title=f"GAN on ring8: {captured}/8 modes, {100 * high_quality:.1f}% within 3 std")
show_png(OUT / "gan_ring8_samples.png")
fig, ax = plt.subplots(figsize=(5, 3))
epochs = np.arange(1, len(gan_history["modes_captured"]) + 1)
ax.plot(epochs, gan_history["modes_captured"], "o-", label="modes captured (of 8)")
ax.plot(epochs, 8 * np.asarray(gan_history["high_quality_fraction"]), "s--",
        label="8 × high-quality fraction")
ax.set_xlabel("epoch")
ax.legend(fontsize=8)
save(fig, "gan_ring8_coverage.png")

# %% [markdown]
# ## 5 Future directions and challenges ("5.未来发展与挑战": "5.1 未来发展", "5.2 挑战")
#
# Faster training, more expressive models, interpretability, wider applications. The challenges listed
# are model complexity, training stability, interpretability and generalisation. These are generic and
# need no code. The one concrete, measurable challenge for GANs is stability and mode collapse, which
# the ring8 plot above measures (see also notebooks 002 and 004).

# %% [markdown]
# ## 6 Appendix: frequently asked questions ("6.附录：常见问题")
#
# - **"6.1 变分自编码器（VAE）与生成对抗网络（GAN）的区别"**: encoder/decoder vs generator/discriminator,
#   likelihood bound vs adversarial game. *Correction*: the document says the VAE generates continuous data
#   and the GAN continuous **and discrete** data. That is the wrong way round. G's output must be
#   differentiable for D's gradient to reach it, so discrete data needs extra machinery such as
#   Gumbel-softmax or REINFORCE. A VAE handles discrete x directly, with a Bernoulli or categorical
#   likelihood (the library's default for MNIST is Bernoulli).
# - **"6.2 … 与自编码器（Autoencoder）的区别"**: a plain autoencoder minimises the reconstruction error
#   between x and D(E(x)) (not "the difference between the encoder and the decoder", as the document
#   says) and has no prior over its codes, so decoding random codes does not give data. Notebook 002
#   shows this with the library's `Autoencoder`.
# - **"6.3 … 与深度生成对抗网络（D-GAN）的区别"**: "D-GAN" is not an established model. The closest
#   well-known "deep" GAN is DCGAN (Radford et al. 2016), available as `model.architecture=dcgan`
#   (notebook 002).
# - **"6.4 … 与自注意力机制（Self-Attention）的结合"** and **"6.5 … 的结合"** (VAE + GAN, e.g. VAE-GAN,
#   Larsen et al. 2016): ideas only. The library implements neither attention layers nor a VAE-GAN
#   hybrid.
# - **"6.6 … 的优缺点对比"**: *correction*: the document lists training instability as a VAE weakness.
#   The VAE has a single objective and trains stably, and it gives a likelihood bound per example. Its
#   weaknesses are blurry samples and posterior collapse. The GAN's samples are sharp, but training is
#   a two-player game without a likelihood and it can drop modes. The two numbers below come from the two
#   models trained in this notebook: the VAE's held-out −ELBO in nats, and the GAN's mode coverage. A GAN
#   has nothing like the first, and a VAE on images has nothing as direct as the second.
# - "6.7" is cut off in the document.

# %%
print(f"VAE: held-out −ELBO = {history['val_loss'][-1]:.1f} nats per image (an upper bound on −log p(x))")
print(f"GAN: {captured}/8 ring8 modes captured, "
      f"{100 * high_quality:.1f}% of 2,500 samples within 3 std of a mode")
