# %% [markdown]
# # 001 · The variational autoencoder, step by step
#
# Companion notebook to document **001** (`../shared/seeds/001_*.txt`), a Chinese tutorial on VAEs
# and their place next to GANs. The cells follow the document's section order. Each section gets a short
# English summary with its Chinese title. The code cells do what the section meant to do, with
# `vae_gan_tf`, on `mnist5k` (5,000 real MNIST digits bundled offline). Where the document is wrong, the
# summary says so.
#
# Run it from the repository root:
#
# ```bash
# python notebooks_export/001_vae_tutorial.py --quick   # a few training steps, well under a minute
# python notebooks_export/001_vae_tutorial.py           # full settings, a few minutes on 2 CPU cores
# ```
#
# Everything it writes (run folders, PNGs) goes to `notebooks_export/_out/001/`.
# `docs/corrections.md` itemises every claim and code block of the document (001-1, 001-2, …), with
# the library function and the test that cover each one.

# %%
from vae_gan_tf.report.notebook import NotebookSession

nb = NotebookSession("001", "Notebook 001: VAE tutorial", globals().get("__file__"))
QUICK, OUT, CONFIGS = nb.quick, nb.out, nb.configs
save, show_png, fresh_run_dir = nb.save, nb.show_png, nb.fresh_run_dir

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from vae_gan_tf.config import load_config  # noqa: E402
from vae_gan_tf.data.pipeline import make_datasets  # noqa: E402
from vae_gan_tf.models import losses as L  # noqa: E402
from vae_gan_tf.models.catalog import build_model, compile_model  # noqa: E402
from vae_gan_tf.reference import formulas as F  # noqa: E402
from vae_gan_tf.report.plotting import read_history, save_image_grid  # noqa: E402
from vae_gan_tf.training.fit import train_run  # noqa: E402

# The document's network (§4.1): a 784-256 dense encoder, latent_dim=32, and a mirrored decoder.
DOC_NETWORK = ["model.architecture=mlp", "model.hidden_units=[256]", "model.latent_dim=32"]
TRAIN = (["train.epochs=2", "train.steps_per_epoch=3", "train.batch_size=32"] if QUICK
         else ["train.epochs=30", "train.batch_size=128"])

# %% [markdown]
# ## 1 Background ("1.背景介绍")
#
# GANs are powerful but unstable to train. The document then presents VAEs "in the role they play in
# GANs". *Correction*: a VAE is a generative model family of its own (Kingma & Welling 2014), trained
# by maximising a likelihood bound, and is not a part of GANs. The two can be combined, as in VAE-GAN
# (Larsen et al. 2016), but this library does not implement such hybrids.

# %% [markdown]
# ## 2 Core concepts ("2.核心概念与联系": "2.1 生成对抗网络（GANs）", "2.2 变分自编码器（VAEs）", "2.3 联系")
#
# A GAN is a generator and a discriminator in competition. A VAE encodes x into a low-dimensional random
# variable and decodes it back.
#
# *Corrections.*
# - §2.2 splits VAE training into an "encoding stage" and a "decoding stage". There are no stages:
#   encoder and decoder are trained **jointly**, each gradient step on one loss (−ELBO) updating both.
#   §3.2 below shows this.
# - §2.3 suggests a VAE as "part of the generator" (this is VAE-GAN's decoder-as-generator) or as "part
#   of the discriminator". The second is speculation. Neither is in this library.

# %% [markdown]
# ## 3.1 Structure ("3.1 变分自编码器的基本结构")
#
# Encoder: x → the parameters (μ, log σ²) of q(z|x). Decoder: a **sample** z → the parameters of
# p(x|z). The document says the decoder takes "the random variable's parameters" as input. It takes a
# sample z ~ q(z|x) in training, and at test time z = μ or a prior draw.
#
# *Correction*: the document adds "参数共享层" (layers shared by the encoder and decoder). A VAE's
# encoder and decoder share no parameters. The library's `VAE` below is built from the document's own
# layer sizes (784-256 encoder, latent_dim = 32). It has two separate heads, `mean` and `log_var`, and
# no weight is shared.

# %%
config = load_config(CONFIGS / "vae_mlp_mnist5k.yaml", DOC_NETWORK + TRAIN)
vae_demo = compile_model(build_model(config, (28, 28, 1)), config)
vae_demo.encoder.summary()
vae_demo.decoder.summary()
encoder_ids = {id(v) for v in vae_demo.encoder.weights}
print("variables shared by encoder and decoder:", sum(id(v) in encoder_ids for v in vae_demo.decoder.weights))

# %% [markdown]
# ## 3.2 Training ("3.2 变分自编码器的训练过程")
#
# *Correction*: the document trains with "对偶梯度下降" (dual gradient descent). A VAE has no dual
# problem. It is trained by ordinary stochastic gradient descent (Adam here) on −ELBO. The
# reparameterization z = μ + σ·ε makes the sampling step differentiable. One loss gives gradients to
# **both** networks at once:

# %%
mnist = make_datasets(config)
batch = next(iter(mnist.train))
with tf.GradientTape() as tape:
    terms = vae_demo.compute_terms(batch, training=True)  # the loss of VAE.train_step
grads = tape.gradient(terms["loss"],
                      vae_demo.encoder.trainable_variables + vae_demo.decoder.trainable_variables)
n_enc = len(vae_demo.encoder.trainable_variables)
print({k: round(float(v), 2) for k, v in terms.items()})
print(f"gradient norm, encoder: {tf.linalg.global_norm(grads[:n_enc]):.2f}; "
      f"decoder: {tf.linalg.global_norm(grads[n_enc:]):.2f}   (one loss, one step, both updated)")

# %% [markdown]
# Now the real training run, with `train_run`. It writes a run folder with `config.yaml`, checkpoints,
# `history.csv`, `model.keras`, a SavedModel, sample grids per epoch, `reconstructions.png` and
# `curves.png`.

# %%
run_dir = fresh_run_dir("vae_doc_network")
metrics = train_run(config, run_dir, verbose=0)
print("final:", {k: round(v, 2) for k, v in metrics["final"].items()})
print("run folder:", sorted(p.name for p in run_dir.iterdir()))
vae = keras.models.load_model(run_dir / "model.keras")  # the trained model, reloaded from the run folder
show_png(run_dir / "curves.png")

# %% [markdown]
# ## 3.3 The formulas ("3.3 数学模型公式详细讲解": "3.3.1 编码阶段的数学模型", "3.3.2 解码阶段的数学模型", "3.3.3 对偶梯度下降的数学模型")
#
# The Gaussian forms q_φ(z|x) = N(μ_φ(x), σ_φ(x)²) and p_θ(x|z) = N(μ_θ(z), σ_θ(z)²) are standard. For
# MNIST the library uses a Bernoulli p(x|z) (from logits) by default. A Gaussian with fixed σ is
# `model.likelihood=gaussian`.
#
# *Correction*: the loss L = L_enc + L_dec is wrong.
# - L_enc = −E_{q(z|x)}[log p(x|z)] is the **reconstruction** term, not an "encoding loss".
# - L_dec = −E_{z~p(z)}[log p(x|z)] is not part of the VAE objective. It scores x under codes drawn
#   from the prior and ignores the encoder entirely. The missing term is KL(q(z|x) ‖ p(z)).
#
# The VAE minimises −ELBO = L_enc + KL(q(z|x) ‖ p(z)) ≥ −log p(x). Below, on held-out digits and with the
# model just trained, are the terms, the document's L_dec, and the importance-weighted bound −L_k
# (Burda et al. 2015, `VAE.log_importance_weights`), which is tighter than −ELBO.

# %%
x_eval = tf.constant(mnist.validation_images[: 32 if QUICK else 200])
k = 64 if QUICK else 500
chunk = 16 if QUICK else 20
terms = {n: float(v) for n, v in vae.compute_terms(x_eval, training=False).items()}
iw_bound, l_dec = [], []
for start in range(0, len(x_eval), chunk):
    x = x_eval[start:start + chunk]
    log_weights = tf.cast(vae.log_importance_weights(x, k), tf.float64)  # (k, images)
    iw_bound.append(L.importance_weighted_bound(log_weights).numpy())
    z = tf.random.stateless_normal((k * len(x), vae.latent_dim), seed=(1, start))  # z ~ p(z), not q(z|x)
    x_rep = tf.repeat(x, k, axis=0)
    nll = tf.reshape(vae.reconstruction_loss(x_rep, vae.decoder(z)), (len(x), k))
    l_dec.append(tf.reduce_mean(nll, axis=1).numpy())
iw_bound, l_dec = np.concatenate(iw_bound), np.concatenate(l_dec)
table = [
    ("L_enc = reconstruction term E_q[−log p(x|z)]", terms["reconstruction"], ""),
    ("KL(q(z|x) ‖ p(z))", terms["kl"], ""),
    ("−ELBO = L_enc + KL (the library's loss)", terms["loss"], "≥ −log p(x)"),
    (f"−L_{k} (importance weighted, tighter)", -iw_bound.mean(), "≥ −log p(x)"),
    ("document's L_dec = E_p(z)[−log p(x|z)]", l_dec.mean(), ""),
    ("document's L = L_enc + L_dec", terms["reconstruction"] + l_dec.mean(), "(not the VAE objective)"),
]
for label, value, note in table:
    print(f"{label:46s} {value:8.1f} nats per image  {note}")

# %% [markdown]
# ## 4.1 The code ("4.1 实现变分自编码器的Python代码")
#
# The document's Keras VAE has four bugs. The library's `VAE` fixes each one:
# 1. `z_mean = self.dense_2(x)` and `z_log_var = self.dense_2(x)` use **the same layer**, so mean and
#    log-variance are identical. The library has two separate heads.
# 2. `z_mean + tf.exp(z_log_var) * epsilon` uses exp(log σ²) = σ² as the standard deviation. It must be
#    exp(½·log σ²) = σ (`losses.reparameterize`; checked below).
# 3. `tf.random.normal(shape=z_mean.shape)` fails when the batch dimension is unknown (`None`). The
#    library draws ε with the dynamic shape from a seeded stream.
# 4. `compile(loss='mse')` with a 4-tuple output has no KL term and does not match the outputs. The
#    library's `train_step` minimises −ELBO, and `compile` only takes an optimizer.

# %%
mean_w = vae.encoder.get_layer("mean").kernel.numpy()
log_var_w = vae.encoder.get_layer("log_var").kernel.numpy()
print("mean and log_var heads identical?", np.allclose(mean_w, log_var_w))

log_var = np.full((100_000, 1), np.log(0.25), np.float32)  # σ² = 0.25, so σ = 0.5
eps = np.random.default_rng(0).standard_normal(log_var.shape).astype(np.float32)
z_library = L.reparameterize(tf.zeros_like(log_var), log_var, eps).numpy()
z_document = np.exp(log_var) * eps  # the document's exp(log σ²)
agrees = np.allclose(F.reparameterize(0.0, log_var, eps), z_library, atol=1e-6)
print(f"wanted std 0.5: library {z_library.std():.3f}, document's formula {z_document.std():.3f}; "
      f"formulas.reparameterize agrees: {agrees}")

# %% [markdown]
# The trained model's pictures: prior samples, held-out reconstructions (both written by `train_run`),
# and a walk through latent space between two held-out digits.

# %%
last_grid = sorted((run_dir / "samples").glob("epoch_*.png"))[-1]
show_png(last_grid)
show_png(run_dir / "reconstructions.png")

pairs = [(0, 1), (2, 3), (4, 5)]
steps = np.linspace(0.0, 1.0, 10)[:, None]
codes = vae.encode(mnist.validation_images[:6])[0].numpy()
strips = [vae.generate((1 - steps) * codes[a] + steps * codes[b]).numpy() for a, b in pairs]
save_image_grid(np.concatenate(strips), OUT / "interpolation.png", ncols=10,
                title="straight lines between the codes of two held-out digits")
show_png(OUT / "interpolation.png")

# %% [markdown]
# ## 4.2 Explanation of the code ("4.2 代码的解释说明")
#
# The document walks through its encoder, decoder and `VAE` classes and compiles with Adam and MSE.
# The explanation inherits the bugs listed in 4.1. In the library the model's `train_step` computes the
# loss itself, so `compile` takes only an optimizer. The training and evaluation above are the working
# version of that walkthrough.

# %% [markdown]
# ## 5 Outlook and challenges ("5.未来发展趋势与挑战": "5.1 未来发展趋势", "5.2 挑战")
#
# The outlook is generic: more applications and larger data. Two of the challenges rest on errors
# already corrected. Training does not need "dual gradient descent", and VAEs are not especially prone
# to vanishing gradients. The practical VAE problems are blurry samples (the Gaussian/Bernoulli
# likelihood averages over plausible images) and **posterior collapse**: latent units whose KL goes to 0
# and carry no information. Notebook 004 measures the second with per-dimension KL.

# %% [markdown]
# ## 6.1 FAQ: choosing latent_dim ("6.1 常见问题1：如何选择变分自编码器的latent_dim参数？")
#
# The document's answer, to evaluate model performance for several values, is right. Here it is done
# with the same network and data (15 epochs each in the full run), and the held-out reconstruction term,
# KL and −ELBO are compared.
# More dimensions buy better reconstructions for more KL. The best −ELBO is where the trade-off pays.

# %%
latent_dims = [2, 32] if QUICK else [2, 8, 32]
sweep_train = TRAIN if QUICK else ["train.epochs=15", "train.batch_size=128"]  # shorter than the main run
sweep = {}
for dim in latent_dims:
    cfg = load_config(CONFIGS / "vae_mlp_mnist5k.yaml", DOC_NETWORK + sweep_train + [f"model.latent_dim={dim}"])
    keras.utils.set_random_seed(cfg.train.seed)
    model = compile_model(build_model(cfg, mnist.image_shape), cfg)
    hist = model.fit(mnist.train, epochs=cfg.train.epochs, steps_per_epoch=mnist.steps_per_epoch,
                     validation_data=mnist.validation, verbose=0, shuffle=False).history
    sweep[dim] = {k: hist[f"val_{k}"][-1] for k in ("reconstruction", "kl", "loss")}
    print(f"latent_dim {dim:3d}: " + ", ".join(f"val {k} {v:.1f}" for k, v in sweep[dim].items()))

fig, ax = plt.subplots(figsize=(5.5, 3.5))
for key, marker in (("reconstruction", "o-"), ("kl", "s-"), ("loss", "^-")):
    ax.plot(latent_dims, [sweep[d][key] for d in latent_dims], marker, label=f"held-out {key}")
ax.set_xscale("log", base=2)
ax.set_xlabel("latent_dim")
ax.set_ylabel("nats per image")
ax.legend(fontsize=8)
ax.set_title("choosing latent_dim (doc 001 §6.1)", fontsize=10)
save(fig, "latent_dim_sweep.png")

# %% [markdown]
# ## 6.2 FAQ: vanishing gradients ("6.2 常见问题2：如何解决变分自编码器的梯度消失问题？")
#
# Suggested fixes: another optimizer, "批量正则化", residual connections. *Corrections*:
# - "Batch regularisation helps against overfitting and so against vanishing gradients" mixes up two
#   different problems. Batch *normalisation* can ease optimisation; overfitting is a separate issue.
# - Residual/skip connections **from the encoder to the decoder** would let the decoder read x
#   directly and bypass z. The model then ignores its latent code, and at generation time there is no
#   encoder to feed the skip path. Skip connections belong *within* the encoder or within the decoder.
#
# The training curves above (`curves.png`) show no sign of vanishing gradients at this size.

# %% [markdown]
# ## 7 Summary and references ("7.总结", "参考文献")
#
# *Note on the reference list*: its 45 entries repeat the same dozen about four times, the text cites
# none of them, and many are wrong. Kingma & Welling's paper appeared at ICLR 2014, not NeurIPS.
# "Improved Techniques for Training GANs" is by Salimans, Goodfellow, Zaremba, Cheung, Radford and Chen
# (NIPS 2016). The two-time-scale update rule paper is by Heusel et al. (NIPS 2017). Gulrajani et al.
# 2017 (NIPS) lists Dumoulin, not Bottou. DCGAN is Radford, Metz and Chintala (ICLR 2016). Several other
# entries cite papers that could not be found at all. `docs/corrections.md` (001-15 to 001-28) checks
# every entry.

# %%
history = read_history(run_dir / "history.csv")
print(f"trained {metrics['epochs_completed']} epochs, {metrics['parameters']:,} parameters; "
      f"held-out −ELBO {history['val_loss'][-1]:.1f} nats per image")
