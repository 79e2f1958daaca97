"""The rows of ``python -m vae_gan_tf.verify``: every row compares what the library computes
(``models/losses.py``, the ``VAE`` model's loss code, a discriminator trained with the library's GAN loss)
with a reference whose truth is known exactly: a float64 formula of ``reference/formulas.py``, a closed form
(the linear-Gaussian model, where log p(x) and p(z|x) are exact), or quadrature."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    formula: str  # F-id of reference/formulas.py
    source: str  # document section, or paper
    case: str
    analytic: float  # the reference value
    implementation: float  # what the library computed
    tolerance: float  # absolute
    relation: str = "="  # "=": |impl − ref| ≤ tol; "<=": impl ≤ ref + tol; ">=": impl ≥ ref − tol

    @property
    def abs_error(self) -> float:
        return abs(self.implementation - self.analytic)

    @property
    def rel_error(self) -> float:
        return self.abs_error / max(abs(self.analytic), 1e-300)

    @property
    def passed(self) -> bool:
        if self.relation == "<=":
            return self.implementation <= self.analytic + self.tolerance
        if self.relation == ">=":
            return self.implementation >= self.analytic - self.tolerance
        return self.abs_error <= self.tolerance


# ---------------------------------------------------------------- each function of models/losses.py vs its formula


def loss_function_rows(rng) -> list[Row]:
    import numpy as np
    import tensorflow as tf

    from vae_gan_tf.models import losses as L
    from vae_gan_tf.reference import formulas as F

    f32 = lambda a: tf.constant(np.asarray(a, np.float32))  # noqa: E731
    n, d = 64, 6
    mean, log_var, eps = (rng.normal(size=(n, d)) for _ in range(3))
    x_bin = (rng.random((n, 5, 5)) < 0.5).astype(np.float64)
    logits = rng.normal(0, 3, (n, 5, 5))
    x, mu = rng.normal(size=(n, 7)), rng.normal(size=(n, 7))
    real, fake = rng.normal(1, 2, 256), rng.normal(-1, 2, 256)
    log_w = rng.normal(-100, 5, (50, n))
    kl = L.kl_divergence_normal(f32(mean), f32(log_var)).numpy()
    # (F-id, source, case, reference, implementation); float32 against float64: rtol-scaled tolerance
    pairs = [
        ("F3", "doc 003 §4.1", "kl_divergence_normal", F.kl_to_standard_normal(mean, log_var), kl),
        ("F6", "doc 003 §4.1", "reparameterize", F.reparameterize(mean, log_var, eps),
         L.reparameterize(f32(mean), f32(log_var), f32(eps)).numpy()),
        ("F12a", "Kingma & Welling 2014, App. C", "bernoulli_negative_log_likelihood",
         -F.bernoulli_log_likelihood(x_bin, logits), L.bernoulli_negative_log_likelihood(f32(x_bin), f32(logits)).numpy()),
        ("F12b", "doc 000 §3.3.1", "gaussian_negative_log_likelihood", -F.gaussian_log_likelihood(x, mu, 0.3),
         L.gaussian_negative_log_likelihood(f32(x), f32(mu), 0.3).numpy()),
        ("F12c", "Burda et al. 2015", "log_normal_density", F.log_normal_density(eps, mean, log_var),
         L.log_normal_density(f32(eps), f32(mean), f32(log_var)).numpy()),
        ("F5", "doc 002 §1.3.1.1", "squared_error", F.autoencoder_objective(x, mu), L.squared_error(f32(x), f32(mu)).numpy()),
        ("F1", "doc 003 §4.2", "negative_elbo (beta=1)", -F.elbo(-np.abs(x[:, 0]) * 50, kl),
         L.negative_elbo(f32(np.abs(x[:, 0]) * 50), f32(kl)).numpy()),
        ("F4", "doc 004 §3.1.2", "negative_elbo (beta=4)", -F.beta_vae_objective(-np.abs(x[:, 0]) * 50, kl, 4.0),
         L.negative_elbo(f32(np.abs(x[:, 0]) * 50), f32(kl), 4.0).numpy()),
        ("F11", "Burda et al. 2015, eq. 8", "importance_weighted_bound", F.importance_weighted_bound(log_w),
         L.importance_weighted_bound(tf.constant(log_w)).numpy()),
        ("F7", "doc 003 §2.1", "minimax_discriminator_loss = -V(D, G)",
         -F.gan_value(F.sigmoid(real), F.sigmoid(fake)), L.minimax_discriminator_loss(f32(real), f32(fake)).numpy()),
        ("F7", "doc 003 §2.1", "minimax_generator_loss = E log(1 - D(G(z)))",
         np.mean(np.log1p(-F.sigmoid(fake))), L.minimax_generator_loss(f32(fake)).numpy()),
        ("F10", "Goodfellow et al. 2014, §3", "nonsaturating_generator_loss",
         F.nonsaturating_generator_objective(F.sigmoid(fake)), L.nonsaturating_generator_loss(f32(fake)).numpy()),
        ("F14", "Arjovsky et al. 2017, eq. 3", "wasserstein_critic_loss",
         -F.wasserstein_critic_objective(real, fake), L.wasserstein_critic_loss(f32(real), f32(fake)).numpy()),
        ("F14", "Arjovsky et al. 2017, Alg. 1", "wasserstein_generator_loss", -np.mean(fake),
         L.wasserstein_generator_loss(f32(fake)).numpy()),
        ("F7s", "Salimans et al. 2016, §3.4", "minimax_discriminator_loss, label smoothing 0.1",
         F.smoothed_discriminator_loss(F.sigmoid(real), F.sigmoid(fake), 0.1),
         L.minimax_discriminator_loss(f32(real), f32(fake), 0.1).numpy()),
        ("F16", "Mao et al. 2017, eq. 2", "least_squares_discriminator_loss", F.least_squares_objectives(real, fake)[0],
         L.least_squares_discriminator_loss(f32(real), f32(fake)).numpy()),
        ("F16", "Mao et al. 2017, eq. 2", "least_squares_generator_loss", F.least_squares_objectives(real, fake)[1],
         L.least_squares_generator_loss(f32(fake)).numpy()),
        ("F17", "Miyato et al. 2018, eq. 16", "hinge_discriminator_loss", F.hinge_objectives(real, fake)[0],
         L.hinge_discriminator_loss(f32(real), f32(fake)).numpy()),
        ("F17", "Miyato et al. 2018, eq. 17", "hinge_generator_loss", F.hinge_objectives(real, fake)[1],
         L.hinge_generator_loss(f32(fake)).numpy()),
        *[("F18", "Bowman et al. 2016", f"kl_weight at step {t} of 100 (beta 4)", F.kl_warmup_weight(t, 4.0, 100),
           L.kl_weight(t, 4.0, 100).numpy()) for t in (0, 37, 250)],
    ]
    rows = []
    for fid, source, case, reference, implementation in pairs:
        reference, implementation = np.asarray(reference, np.float64), np.asarray(implementation, np.float64)
        worst = int(np.argmax(np.abs(reference - implementation).ravel()))
        ref, impl = float(reference.ravel()[worst]), float(implementation.ravel()[worst])
        rows.append(Row(fid, source, f"{case}, worst of {reference.size}", ref, impl,
                        tolerance=2e-5 * max(1.0, abs(ref))))
    critic = tf.keras.Sequential([tf.keras.Input((3, 3, 1)), tf.keras.layers.Flatten(),
                                  tf.keras.layers.Dense(1, use_bias=False)])
    w = rng.normal(size=(9, 1))
    critic.layers[-1].set_weights([(3.0 * w / np.linalg.norm(w)).astype(np.float32)])
    penalty = L.gradient_penalty(critic, f32(rng.normal(size=(16, 3, 3, 1))), f32(rng.normal(size=(16, 3, 3, 1))))
    rows.append(Row("F15", "Gulrajani et al. 2017, eq. 3", "gradient_penalty, linear critic with |w| = 3",
                    F.gradient_penalty_linear_critic(3.0), float(penalty), tolerance=1e-4))
    return rows


def kl_monte_carlo_rows(rng, samples) -> list[Row]:
    import numpy as np

    from vae_gan_tf.models import losses as L
    from vae_gan_tf.reference import formulas as F

    mean, log_var = np.array([[0.7, -1.2, 0.1]]), np.array([[-0.5, 0.8, -2.0]])
    z = F.reparameterize(mean, log_var, rng.standard_normal((samples, 3)))
    log_ratio = F.log_normal_density(z, mean, log_var) - F.log_normal_density(z, 0 * z, 0 * z)
    error = 4.0 * log_ratio.std() / np.sqrt(samples)
    closed = float(L.kl_divergence_normal(mean.astype(np.float32), log_var.astype(np.float32))[0])
    return [Row("F3", "doc 003 §4.1", f"closed-form KL vs Monte Carlo ({samples} samples, 4 s.e.)",
                float(log_ratio.mean()), closed, tolerance=error)]


# ---------------------------------------------------------------- the linear-Gaussian model


def linear_gaussian_vae(weight, bias, noise_std, enc_kernel, enc_bias, enc_log_var):
    """The library's VAE with linear encoder and decoder set to the given parameters (Gaussian likelihood)."""
    import keras
    import numpy as np

    from vae_gan_tf.models.vae.configs import VAEConfig
    from vae_gan_tf.models.vae.vae import VAE

    data_dim, latent_dim = weight.shape
    config = VAEConfig(architecture="mlp", hidden_units=[4], latent_dim=latent_dim, likelihood="gaussian",
                       gaussian_std=noise_std)
    vae = VAE(config, (data_dim,))
    x = keras.Input((data_dim,))
    mean = keras.layers.Dense(latent_dim, name="mean")(x)
    log_var = keras.layers.Dense(latent_dim, name="log_var")(x)
    vae.encoder = keras.Model(x, [mean, log_var])
    vae.encoder.get_layer("mean").set_weights([enc_kernel.astype(np.float32), enc_bias.astype(np.float32)])
    vae.encoder.get_layer("log_var").set_weights([np.zeros((data_dim, latent_dim), np.float32),
                                                  enc_log_var.astype(np.float32)])
    z = keras.Input((latent_dim,))
    vae.decoder = keras.Model(z, keras.layers.Dense(data_dim, name="linear")(z))
    vae.decoder.get_layer("linear").set_weights([weight.T.astype(np.float32), bias.astype(np.float32)])
    vae.compile(optimizer=keras.optimizers.Adam())
    return vae


def vae_elbo_samples(vae, x, samples):
    """Per-sample ELBO terms −(reconstruction + KL) from the VAE's own loss code, for one data point."""
    import numpy as np
    import tensorflow as tf

    from vae_gan_tf.models import losses as L

    batch = tf.constant(np.repeat(x[None].astype(np.float32), samples, axis=0))
    mean, log_var = vae.encode(batch)
    z = vae.sample_posterior(mean, log_var)
    reconstruction = vae.reconstruction_loss(batch, vae.decoder(z))
    return -(reconstruction + L.kl_divergence_normal(mean, log_var)).numpy().astype(np.float64)


def linear_gaussian_rows(rng, samples) -> list[Row]:
    import numpy as np
    import tensorflow as tf

    from vae_gan_tf.models import losses as L
    from vae_gan_tf.reference import formulas as F

    data_dim, latent_dim, noise_std = 5, 2, 0.5
    basis, _ = np.linalg.qr(rng.normal(size=(data_dim, latent_dim)))
    weight = basis * np.array([2.0, 0.8])  # orthogonal columns: the exact posterior is diagonal
    bias = rng.normal(size=data_dim)
    x = bias + weight @ rng.normal(size=latent_dim) + noise_std * rng.normal(size=data_dim)
    log_px = float(F.linear_gaussian_log_evidence(x, weight, bias, noise_std))
    post_mean, post_cov = F.linear_gaussian_posterior(x, weight, bias, noise_std)
    post_var = np.diag(post_cov)
    m_inv = np.linalg.inv(weight.T @ weight + noise_std**2 * np.eye(latent_dim))
    exact_kernel = (m_inv @ weight.T).T  # q(z|x) mean = (x − b) @ kernel
    rows = []

    exact = linear_gaussian_vae(weight, bias, noise_std, exact_kernel, -bias @ exact_kernel, np.log(post_var))
    elbos = vae_elbo_samples(exact, x, samples)
    se = elbos.std() / np.sqrt(samples)
    rows.append(Row("F1/F2", "doc 003 §4.2", "q = exact posterior: ELBO (VAE loss code) = log p(x)",
                    log_px, float(elbos.mean()), tolerance=4 * se + 1e-4))

    shifted_mean, inflated_var = post_mean + np.array([0.4, -0.3]), post_var * np.array([2.5, 0.6])
    approx = linear_gaussian_vae(weight, bias, noise_std, exact_kernel,
                                 -bias @ exact_kernel + np.array([0.4, -0.3]), np.log(inflated_var))
    elbos = vae_elbo_samples(approx, x, samples)
    se = elbos.std() / np.sqrt(samples)
    gap = float(F.kl_diagonal_gaussians(shifted_mean, inflated_var, post_mean, post_var))
    rows.append(Row("F1", "doc 003 §2.2 (doc 000 §3.1.2 states '=')", "q ≠ posterior: ELBO ≤ log p(x)",
                    log_px, float(elbos.mean()), tolerance=4 * se, relation="<="))
    rows.append(Row("F2", "doc 003 §4.2", "KL(q ‖ p(z|x)) + ELBO (VAE loss code) = log p(x)",
                    log_px, float(F.log_evidence_decomposition(gap, elbos.mean())), tolerance=4 * se + 1e-4))

    repeats = max(200, samples // 100)  # independent estimates of each L_k, averaged
    batch = tf.constant(np.repeat(x[None].astype(np.float32), repeats, axis=0))
    previous, previous_se = None, 0.0
    for k in (1, 10, 100, 1000):
        values = L.importance_weighted_bound(tf.cast(approx.log_importance_weights(batch, k), tf.float64)).numpy()
        estimate, se = float(values.mean()), float(values.std() / np.sqrt(repeats))
        rows.append(Row("F11", "Burda et al. 2015, Thm 1", f"L_{k} ≤ log p(x) ({repeats} estimates, 4 s.e.)",
                        log_px, estimate, tolerance=4 * se + 1e-4, relation="<="))
        if previous is not None:
            rows.append(Row("F11", "Burda et al. 2015, Thm 1", f"L_{k} ≥ L_{k // 10} (rises with k)",
                            previous, estimate, tolerance=4 * np.hypot(se, previous_se), relation=">="))
        previous, previous_se = estimate, se
    rows.append(Row("F11", "Burda et al. 2015, Thm 1", "L_1000 approaches log p(x) (within 0.05 nats)",
                    log_px, previous, tolerance=0.05))
    return rows


# ---------------------------------------------------------------- GANs on 1-D densities


def gaussian_pdf(x, mean, std):
    import numpy as np

    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


def gan_rows(rng, samples, steps, verbose: bool = True) -> list[Row]:
    import keras
    import numpy as np
    import tensorflow as tf

    from vae_gan_tf.models import losses as L
    from vae_gan_tf.reference import formulas as F

    data_mean, data_std, g_mean, g_std = 0.0, 1.0, 1.0, 1.5
    grid = np.linspace(-15, 15, 30001)
    dx = grid[1] - grid[0]
    p_data, p_g = gaussian_pdf(grid, data_mean, data_std), gaussian_pdf(grid, g_mean, g_std)
    d_star = F.optimal_discriminator(p_data, p_g)
    jsd = F.jensen_shannon_divergence(p_data, p_g, dx)
    value = F.value_by_quadrature(p_data, p_g, d_star, dx)
    rows = [Row("F9", "Goodfellow et al. 2014, Thm 1", "V(D*, G) by quadrature = −log 4 + 2·JSD",
                F.virtual_training_criterion(jsd), value, tolerance=1e-6)]
    same = F.value_by_quadrature(p_data, p_data, F.optimal_discriminator(p_data, p_data), dx)
    rows.append(Row("F9", "Goodfellow et al. 2014, Thm 1", "p_g = p_data: C(G) = −log 4, D* = ½",
                    -np.log(4.0), same, tolerance=1e-9))
    for shift in (-0.1, 0.1):  # D* maximises V: doc 003 §4.1 says the ideal D minimises it
        perturbed = np.clip(d_star + shift * d_star * (1 - d_star), 1e-12, 1 - 1e-12)
        rows.append(Row("F7/F8", "doc 003 §4.1 (stated the wrong way round)",
                        f"V(D*, G) ≥ V(D* {'+' if shift > 0 else '−'} δ, G): D* maximises V",
                        F.value_by_quadrature(p_data, p_g, perturbed, dx), value, tolerance=0.0, relation=">="))

    # The library's discriminator loss on samples, with D = D*: −loss estimates V(D*, G).
    real = rng.normal(data_mean, data_std, samples)
    fake = rng.normal(g_mean, g_std, samples)
    logit = lambda t: np.log(gaussian_pdf(t, data_mean, data_std)) - np.log(gaussian_pdf(t, g_mean, g_std))  # noqa
    per_sample = np.concatenate([np.log(F.sigmoid(logit(real))), np.log1p(-F.sigmoid(logit(fake)))])
    library_value = -float(L.minimax_discriminator_loss(tf.constant(logit(real), tf.float32),
                                                        tf.constant(logit(fake), tf.float32)))
    rows.append(Row("F7", "doc 003 §2.1", f"−minimax_discriminator_loss at D* on {samples} samples ≈ V(D*, G)",
                    value, library_value, tolerance=4 * per_sample.std() * np.sqrt(2.0 / samples)))

    # A discriminator trained by the library's loss recovers D*: log D*/(1 − D*) is quadratic in x for
    # two Gaussians, so a logistic model on (x, x²) can represent it exactly.
    keras.utils.set_random_seed(0)
    logits_model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(0.05)
    features = lambda t: np.stack([t, t**2], axis=1).astype(np.float32)  # noqa: E731
    real_f, fake_f = tf.constant(features(real)), tf.constant(features(fake))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = L.minimax_discriminator_loss(logits_model(real_f), logits_model(fake_f))
        grads = tape.gradient(loss, logits_model.trainable_variables)
        optimizer.apply_gradients(zip(grads, logits_model.trainable_variables))

    progress = keras.utils.Progbar(steps, unit_name="step", verbose=1 if verbose else 0)  # most of verify's time
    for _ in range(steps):
        step()
        progress.add(1)
    check = np.linspace(-2.0, 3.0, 101)
    trained = F.sigmoid(logits_model(features(check)).numpy()[:, 0])
    exact = F.optimal_discriminator(gaussian_pdf(check, data_mean, data_std), gaussian_pdf(check, g_mean, g_std))
    worst = int(np.argmax(np.abs(trained - exact)))
    rows.append(Row("F8", "Goodfellow et al. 2014, Prop. 1",
                    f"D trained with minimax_discriminator_loss ({steps} steps) vs D*(x), worst x in [−2, 3]",
                    float(exact[worst]), float(trained[worst]), tolerance=0.03))
    return rows


# ---------------------------------------------------------------- the table


def format_table(rows: list[Row]) -> str:
    header = ["formula", "source", "case", "analytic", "implementation", "abs err", "rel err", "tol", "verdict"]
    lines = [header]
    for r in rows:
        tol = f"{r.relation} {r.tolerance:.2g}" if r.relation != "=" else f"{r.tolerance:.2g}"
        lines.append([r.formula, r.source, r.case, f"{r.analytic:.8g}", f"{r.implementation:.8g}",
                      f"{r.abs_error:.2e}", f"{r.rel_error:.2e}", tol, "pass" if r.passed else "FAIL"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
    rendered.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(rendered)


def collect_rows(quick: bool = False, seed: int = 0, verbose: bool = True) -> list[Row]:
    """Every row; ``verbose`` shows the progress bar of the discriminator's training (``gan_rows``)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    samples = 20_000 if quick else 200_000
    return (loss_function_rows(rng) + kl_monte_carlo_rows(rng, samples)
            + linear_gaussian_rows(rng, samples // 4) + gan_rows(rng, samples, 300 if quick else 1500, verbose))


