# %% [markdown]
# # 002 · Deep generative networks (autoencoder, VAE) vs GANs
#
# Companion notebook to document **002** (`../shared/seeds/002_*.txt`), a Chinese comparison of "deep
# generative networks" (autoencoders, VAEs) and GANs. The cells follow the document's section order.
# Each section gets a short English summary with its Chinese title. The code cells do what the
# section's code or formula meant to do, with `vae_gan_tf` on `mnist5k` (5,000 real MNIST digits bundled
# offline). None of the document's three programs runs as written. The summaries say why and what the
# library does instead.
#
# Run it from the repository root:
#
# ```bash
# python notebooks_export/002_deep_generative_networks_vs_gans.py --quick   # a few steps, well under a minute
# python notebooks_export/002_deep_generative_networks_vs_gans.py           # full settings, a few minutes
# ```
#
# Everything it writes (run folders, PNGs) goes to `notebooks_export/_out/002/`.
# `docs/corrections.md` itemises every claim and code block of the document (002-1, 002-2, …), with
# the library function and the test that cover each one.

# %%
from vae_gan_tf.report.notebook import NotebookSession, fit

nb = NotebookSession("002", "Notebook 002: deep generative networks vs GANs", globals().get("__file__"))
QUICK, OUT, CONFIGS = nb.quick, nb.out, nb.configs
save, show_png, fresh_run_dir = nb.save, nb.show_png, nb.fresh_run_dir

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from vae_gan_tf.config import load_config  # noqa: E402
from vae_gan_tf.data.pipeline import make_datasets  # noqa: E402
from vae_gan_tf.models import losses as L  # noqa: E402
from vae_gan_tf.reference import formulas as F  # noqa: E402
from vae_gan_tf.report.plotting import save_reconstructions  # noqa: E402
from vae_gan_tf.training.fit import train_run  # noqa: E402

QUICK_TRAIN = ["train.epochs=2", "train.steps_per_epoch=3", "train.batch_size=32"]

# %% [markdown]
# ## 1.1 Background ("1.1 背景介绍")
#
# Autoencoders, VAEs and GANs as the main deep generative models, in common use since 2014.
#
# *Corrections.* The VAE is from 2013/2014 (Kingma & Welling, arXiv 2013, ICLR 2014; Rezende et al.
# 2014), not 2009. Deep generative networks do not "originate" in the 2014 GAN paper. Autoencoders go
# back to the 1980s (2006 is when Hinton & Salakhutdinov made deep ones popular), deep belief networks
# to 2006, and VAEs were published the same year as GANs.

# %% [markdown]
# ## 1.2 Core concepts ("1.2 核心概念与联系": "1.2.1 深度生成网络", "1.2.2 生成对抗网络", "1.2.3 联系")
#
# DGNs: encoder-decoder models such as autoencoders, VAEs and "Circular VAEs". GANs: a generator and a
# discriminator in competition.
#
# *Corrections.*
# - "Circular Variational Autoencoder" is not an established model. 循环 here means *recurrent*: sequence
#   VAEs with recurrent connections exist (e.g. the VRNN, Chung et al. 2015), but not under this name, and
#   "CVAE" normally means the *conditional* VAE (Sohn et al. 2015).
# - §1.2.3 says a VAE "can be seen as a special case of a GAN whose discriminator is a single linear
#   layer". That is false. A VAE has no discriminator and no adversarial game. It maximises a lower bound
#   on the log-likelihood.
# - A plain autoencoder is not a generative model by itself: it has no prior over its codes. The
#   1.4.1 cell shows what decoding random codes gives.

# %% [markdown]
# ## 1.3.1.1 Autoencoder objective ("1.3.1.1 自编码器（Autoencoders）")
#
# min_{E,D} E_x ‖x − D(E(x))‖². This one is right. `losses.squared_error` is the library's version,
# checked against the float64 reference `formulas.autoencoder_objective`:

# %%
rng = np.random.default_rng(0)
x_demo, x_hat_demo = rng.random((8, 28, 28, 1)), rng.random((8, 28, 28, 1))
library_value = L.squared_error(tf.constant(x_demo, tf.float32), tf.constant(x_hat_demo, tf.float32)).numpy()
print("max |library − formula| =", np.abs(library_value - F.autoencoder_objective(x_demo, x_hat_demo)).max())

# %% [markdown]
# ## 1.3.1.2 VAE objective ("1.3.1.2 变分自编码器（Variational Autoencoders, VAEs）")
#
# min E_x[‖x − D(E(x), z)‖² + KL(q_φ(z|x) ‖ p(z))].
#
# *Corrections.* The VAE learns a **low**-dimensional code, not a "high-dimensional" one. The decoder
# sees only the sample z ~ q(z|x), not "E(x) and z". With squared error the objective is a Gaussian
# likelihood with fixed variance σ² = ½ in disguise: −log N(x; x̂, σ²I) = ‖x − x̂‖² / (2σ²) + const. The
# value of σ sets how much reconstruction counts against the KL term. The library uses `bernoulli`
# (from logits) by default and has `likelihood: gaussian` with `gaussian_std` for this form. The
# identity, checked:

# %%
std = np.sqrt(0.5)
n_pixels = 28 * 28
gaussian_nll = L.gaussian_negative_log_likelihood(tf.constant(x_demo, tf.float32),
                                                  tf.constant(x_hat_demo, tf.float32), std)
constant = n_pixels * (np.log(std) + 0.5 * np.log(2 * np.pi))
print("max |(−log N(x; x̂, ½I) − const) − ‖x − x̂‖²| =",
      np.abs(gaussian_nll.numpy() - constant - library_value).max())

# %% [markdown]
# ## 1.3.1.3 "Circular" VAEs ("1.3.1.3 循环变分自编码器（Circular Variational Autoencoders, CVAEs）")
#
# The formula is copied unchanged from 1.3.1.2, so nothing recurrent appears in it. No code: the library
# has no sequence models.

# %% [markdown]
# ## 1.3.2 GANs ("1.3.2.1 生成器（Generator）", "1.3.2.2 判别器（Discriminator）", "1.3.2.3 训练目标")
#
# G: convolutions and transposed convolutions with BatchNorm. D: convolutions, a binary output.
#
# *Corrections.*
# - G's **input** is the random vector. Its output is an image.
# - DCGAN (Radford et al. 2016), the architecture described, uses ReLU in G and LeakyReLU in D. The
#   library's `architecture: dcgan` does the same.
# - The objectives are worded backwards. The document says G "minimises D's error" and D "maximises D's
#   error". D **minimises** its classification error, which is the same as **maximising**
#   V(D, G) = E log D(x) + E log(1 − D(G(z))). G tries to *raise* D's error (minimises V). The log D(x)
#   term in G's objective does not depend on G.
#
# The check below shows that the library's discriminator loss is exactly D's binary cross-entropy (real
# = 1, fake = 0). It is also −V, so minimising the error and maximising V are the same thing:

# %%
real_logits, fake_logits = rng.normal(1, 2, 256).astype(np.float32), rng.normal(-1, 2, 256).astype(np.float32)
bce = keras.losses.BinaryCrossentropy(from_logits=True)
cross_entropy = float(bce(np.ones_like(real_logits), real_logits)
                      + bce(np.zeros_like(fake_logits), fake_logits))
d_loss = float(L.minimax_discriminator_loss(tf.constant(real_logits), tf.constant(fake_logits)))
value = F.gan_value(F.sigmoid(real_logits), F.sigmoid(fake_logits))
print(f"D's cross-entropy {cross_entropy:.5f} = library d_loss {d_loss:.5f} = −V(D, G) {-value:.5f}")

# %% [markdown]
# ## 1.4.1 The autoencoder code ("1.4.1 自编码器（Autoencoders）")
#
# *The shapes do not fit.* The encoder ends in `Flatten()` of a 14×14×64 map, which is 12,544 features,
# but the decoder's `Input(shape=(64,))` expects 64. The decoder goes 7 → 7 → 14, so it outputs 14×14
# images for 28×28 inputs. Building the document's two halves shows it:

# %%
doc_encoder = keras.Sequential([
    layers.Input(shape=(28, 28, 1)),
    layers.Conv2D(64, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(pool_size=(2, 2), strides=2),
    layers.Conv2D(64, 3, padding="same", activation="relu"),
    layers.Flatten(),
])
doc_decoder = keras.Sequential([
    layers.Input(shape=(64,)),
    layers.Dense(7 * 7 * 64, activation="relu"),
    layers.Reshape((7, 7, 64)),
    layers.Conv2DTranspose(64, 3, padding="same", activation="relu"),
    layers.UpSampling2D(size=(2, 2)),
    layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid"),
])
print("document: encoder output", doc_encoder.output_shape, "but decoder input", doc_decoder.input_shape,
      "and decoder output", doc_decoder.output_shape)

# %% [markdown]
# The library's `Autoencoder` (`configs/autoencoder_mnist5k.yaml`) has stride-2 convolutions mirrored by
# transposed convolutions, a 64-dimensional code and the same squared-error objective. Its shapes fit.

# %%
ae_config = load_config(CONFIGS / "autoencoder_mnist5k.yaml", QUICK_TRAIN if QUICK else ["train.epochs=10"])
mnist = make_datasets(ae_config)  # pixels in [0, 1]; shared by the autoencoder and the VAE below
ae, ae_history = fit(ae_config, mnist)
print("library: encoder", ae.encoder.output_shape, "-> decoder", ae.decoder.input_shape, "->",
      ae.decoder.output_shape)
print(f"held-out squared error per image: {ae_history['val_loss'][-1]:.2f}")
held_out = mnist.validation_images[:16]
save_reconstructions(held_out, ae.decode(ae.encode(held_out)).numpy(),
                     OUT / "autoencoder_reconstructions.png")
show_png(OUT / "autoencoder_reconstructions.png")

# %% [markdown]
# ## 1.4.2 The VAE code ("1.4.2 变分自编码器（Variational Autoencoders, VAEs）")
#
# *What is wrong.* `layers.KerasTensor(tf.math.exp(z_log_var))` is not a way to build a layer.
# `z_mean` and `z_log_var` are model **inputs** that the encoder never produces. The `z` computed from
# them is never used: the model is `decoder(encoder(x))`, which is the autoencoder again, with a
# 12,544-to-64 mismatch. The standard deviation is taken as exp(log σ²) instead of exp(½·log σ²), no ε
# is drawn, and the loss is MSE only, with **no KL term**.
#
# The library's `VAE` (`configs/vae_mnist5k.yaml`, also the default of `python -m vae_gan_tf.train`)
# has separate mean and log-variance heads, z = μ + exp(½ log σ²)·ε, and −ELBO with a Bernoulli
# likelihood. It is trained on the same data as the autoencoder. Then we decode random codes with both
# models: the VAE's prior N(0, I) gives digits, while the autoencoder's codes have no prior. We draw its
# codes from a Gaussian fitted to the codes of the training images, and even so the results are often
# not digits.

# %%
vae_config = load_config(CONFIGS / "vae_mnist5k.yaml", QUICK_TRAIN if QUICK else ["train.epochs=15"])
vae, vae_history = fit(vae_config, mnist)
print({k: round(v[-1], 2) for k, v in vae_history.items()})
save_reconstructions(held_out, vae.decode(vae.encode(held_out)[0]).numpy(), OUT / "vae_reconstructions.png")

codes = ae.encode(mnist.train_images[:2000]).numpy()
z_rng = np.random.default_rng(1)
fitted_codes = codes.mean(0) + codes.std(0) * z_rng.standard_normal((32, codes.shape[1]))
ae_random = ae.decode(fitted_codes.astype(np.float32))
vae_random = vae.generate(z_rng.standard_normal((32, vae.latent_dim)).astype(np.float32))
fig, axes = plt.subplots(1, 2, figsize=(10, 2.8))
for ax, images, title in ((axes[0], ae_random, "autoencoder: decoded random codes"),
                          (axes[1], vae_random, "VAE: decoded z ~ N(0, I)")):
    tiles = np.clip(np.asarray(images), 0, 1).reshape(4, 8, 28, 28)
    grid = tiles.transpose(0, 2, 1, 3).reshape(4 * 28, 8 * 28)
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=10)
    ax.axis("off")
save(fig, "autoencoder_vs_vae_random_codes.png")

# %% [markdown]
# ## 1.4.3 The GAN code ("1.4.3 生成对抗网络（Generative Adversarial Networks, GANs）")
#
# *What is wrong.*
# - G ends in `Dense(784)` and then `Reshape((7, 7, 64))`, which needs 3,136 values.
# - D takes 28×28×**64** inputs and uses `Conv2DTranspose`, which upsamples, where a classifier should
#   downsample.
# - `Dense(..., activation='relu')` is followed by a `LeakyReLU`, which then does nothing.
# - `tf.keras.layers.Layer(input=..., output=...)` is not a valid constructor, and "shared parameters"
#   between G and D make no sense: the two are opponents.
# - `gan.train_with_shared_params(...)` does not exist. Nothing alternates D and G updates or gives
#   them separate optimizers.
#
# The library's `GAN` with `architecture: dcgan` (`configs/dcgan_mnist.yaml`) is the working version:
# G projects z to 7×7×128 and upsamples 7 → 14 → 28 (BatchNorm, ReLU, tanh), and D downsamples
# 28 → 14 → 7 (LeakyReLU 0.2). Two Adam optimizers, alternating updates, losses from logits. It is
# trained with `train_run`, which writes a sample grid per epoch.

# %%
if QUICK:
    dcgan_overrides = ["train.epochs=2", "train.steps_per_epoch=3", "train.batch_size=16",
                       "train.sample_count=16", "data.validation_split=0.02"]
else:
    dcgan_overrides = ["train.epochs=15"]
dcgan_config = load_config(CONFIGS / "dcgan_mnist.yaml", dcgan_overrides)
dcgan_run = fresh_run_dir("dcgan_mnist")
dcgan_metrics = train_run(dcgan_config, dcgan_run, verbose=0)
print("final:", {k: round(v, 3) for k, v in dcgan_metrics["final"].items()})
show_png(sorted((dcgan_run / "samples").glob("epoch_*.png"))[-1])
show_png(dcgan_run / "curves.png")

# %% [markdown]
# ## 1.5 Outlook ("1.5 未来发展与挑战": "1.5.1 深度生成网络", "1.5.2 生成对抗网络")
#
# Faster training, stronger architectures, more applications. For GANs the document adds more stable
# training against mode collapse. These are generic. The measurable part, mode collapse, is shown on toy
# data in notebooks 000 and 004.

# %% [markdown]
# ## 1.6 FAQ ("1.6 附录：常见问题与解答")
#
# - **"1.6.1 … 模式崩溃（Mode Collapse）"**: the description is roughly right. G maps many z to a few
#   outputs that currently fool D, and D's feedback does not push it back to the missed modes. The
#   standard measurement counts captured modes on a known mixture (`metrics.modes.mode_coverage`,
#   ring8/grid25; see notebooks 000 and 004).
# - **"1.6.2 … 主要区别"** and **"1.6.4 变分自编码器与生成对抗网络的主要区别"**: reconstruction (+ KL)
#   objective vs adversarial game. The VAE's second term is the KL divergence to the prior, called a
#   "怀疑度" ("suspicion") in the document.
# - **"1.6.3 … 判别器是如何学习到数据分布的"**: D does not learn the data distribution. It learns to
#   classify. For a fixed G its optimum is D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al.
#   2014, Prop. 1). Only through this ratio does it "know" anything about p_data.
# - **"1.6.5 如何选择合适的深度生成网络或生成对抗网络"**: generic advice. The pictures above show the
#   practical trade-off: a likelihood-based model that reconstructs and samples smoothly (VAE) vs sharper
#   but harder-to-train adversarial samples (DCGAN).

# %%
final = dcgan_metrics["final"]
print(f"autoencoder held-out squared error {ae_history['val_loss'][-1]:.2f}; "
      f"VAE held-out −ELBO {vae_history['val_loss'][-1]:.1f} nats; "
      f"DCGAN final D(real) {final['d_real']:.2f}, D(fake) {final['d_fake']:.2f}")
