"""Sequence VAE: a recurrent encoder to q(z|x) and a recurrent decoder p(x_t | x_<t, z) — the variational
recurrent autoencoder of Fabius & van Amersfoort 2014 with the decoder and the remedies against posterior
collapse of Bowman et al. 2016, "Generating sentences from a continuous space" (§3, §3.1).

An image (H, W, C) is read as H steps of W·C features (its rows); a sequence source gives (T, F) steps,
with a (batch, T) mask that is 1 on a sequence's real steps and 0 on its padding.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from vae_gan_tf.models import losses
from vae_gan_tf.models.base import SingleObjectiveModel
from vae_gan_tf.models.vae.configs import SequenceVAEConfig

RNN_LAYERS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class SequenceVAE(SingleObjectiveModel):
    """GRU or LSTM encoder -> (μ, log σ²); z -> the decoder's initial state (Bowman et al. 2016, §3).

    The decoder's input at step t is x_{t−1} (zeros at t = 0), and with ``z_every_step`` also z. Training
    uses teacher forcing (the true x_{t−1}), where word dropout zeroes each input step with probability
    ``word_dropout``; generation feeds back the mean of p(x_{t−1}|…) instead. Minimises
    −ELBO_β = −Σ_t m_t log p(x_t|x_<t, z) + β_t·KL(q(z|x) ‖ N(0, I)), β_t warmed up linearly over
    ``kl_warmup_steps`` (Bowman et al. 2016, §3.1). Metrics: ``loss``, ``reconstruction``, ``kl``
    (nats per sequence).
    """

    config_class = SequenceVAEConfig
    code_names = ("mean", "log_var")
    metric_names = ("loss", "reconstruction", "kl")

    def __init__(self, model_config, image_shape, **kwargs):
        super().__init__(model_config, image_shape, **kwargs)
        c = model_config
        self.length = self.image_shape[0]  # steps of one example: image rows, or the padded sequence length
        self.features = math.prod(self.image_shape[1:])
        self.state_count = 2 if c.cell == "lstm" else 1  # LSTM: (h, c); GRU: h
        rnn = RNN_LAYERS[c.cell]
        self.encoder_rnn = rnn(c.units, name="encoder_rnn")
        self.mean_head = keras.layers.Dense(c.latent_dim, name="mean", dtype="float32")
        self.log_var_head = keras.layers.Dense(c.latent_dim, name="log_var", dtype="float32")
        self.initial_state_dense = keras.layers.Dense(c.units * self.state_count, activation="tanh",
                                                      name="initial_state")
        self.decoder_rnn = rnn(c.units, return_sequences=True, name="decoder_rnn")
        self.output_dense = keras.layers.Dense(self.features, name="output", dtype="float32")
        decoder_inputs = self.features + (c.latent_dim if c.z_every_step else 0)
        self.encoder_rnn.build((None, None, self.features))
        for head in (self.mean_head, self.log_var_head):
            head.build((None, c.units))
        self.initial_state_dense.build((None, c.latent_dim))
        self.decoder_rnn.build((None, None, decoder_inputs))
        self.output_dense.build((None, c.units))
        self.make_trackers()

    # ---- shapes: data <-> (batch, steps, features)

    def to_steps(self, x):
        x = tf.convert_to_tensor(x)
        return tf.reshape(x, tf.concat([tf.shape(x)[:2], [self.features]], 0))

    def from_steps(self, values):
        return tf.reshape(values, tf.concat([tf.shape(values)[:2], self.image_shape[1:]], 0))

    # ---- the model's maps

    def encode(self, x, mask=None, training=False):
        """(μ, log σ²) of q(z|x) from the RNN's state after the last real step (masked steps are skipped)."""
        mask = None if mask is None else tf.cast(mask, tf.bool)
        state = self.encoder_rnn(self.to_steps(x), mask=mask, training=training)
        return self.mean_head(state), self.log_var_head(state)

    def initial_state(self, z):
        return tf.split(self.initial_state_dense(z), self.state_count, axis=-1)

    def output_mean(self, logits):
        """The mean of p(x_t|…): sigmoid(logits) for ``bernoulli``, the output itself for ``gaussian``."""
        return tf.sigmoid(logits) if self.model_config.likelihood == "bernoulli" else logits

    def teacher_forced_logits(self, steps, z, training=False):
        """Per-step outputs (batch, T, F) with the true previous step as each step's input."""
        inputs = tf.concat([tf.zeros_like(steps[:, :1]), steps[:, :-1]], axis=1)
        word_dropout = self.model_config.word_dropout
        if training and word_dropout > 0:
            keep = self.uniform(tf.shape(inputs)[:2], inputs.dtype) >= word_dropout
            inputs = inputs * tf.cast(keep, inputs.dtype)[..., None]
        if self.model_config.z_every_step:
            inputs = tf.concat([inputs, tf.repeat(z[:, None], tf.shape(inputs)[1], axis=1)], axis=-1)
        hidden = self.decoder_rnn(inputs, initial_state=self.initial_state(z), training=training)
        return self.output_dense(hidden)

    def decode(self, z, length=None):
        """The mean of p(x|z) generated free-running for ``length`` steps (a tensor; default: the data's),
        each step's input being the previous step's mean; shape (batch, length, *image_shape[1:])."""
        z = tf.convert_to_tensor(z, tf.float32)
        length = tf.convert_to_tensor(self.length if length is None else length, tf.int32)
        cell = self.decoder_rnn.cell

        def step(t, previous, states, outputs):
            inputs = tf.concat([previous, z], axis=-1) if self.model_config.z_every_step else previous
            hidden, states = cell(inputs, states)
            mean = self.output_mean(self.output_dense(hidden))
            return t + 1, mean, states, outputs.write(t, mean)

        start = (tf.constant(0), tf.zeros([tf.shape(z)[0], self.features]), self.initial_state(z),
                 tf.TensorArray(tf.float32, size=length))
        outputs = tf.while_loop(lambda t, *_: t < length, step, start)[3]
        return self.from_steps(tf.transpose(outputs.stack(), [1, 0, 2]))

    def generate(self, z, length=None):
        """Sequences (images) from latent codes z drawn from the prior by the caller."""
        return self.decode(z, length)

    def call(self, x, training=False):
        """Teacher-forced reconstruction logits (batch, T, F): z sampled in training, z = μ otherwise."""
        mean, log_var = self.encode(x, training=training)
        z = self.sample_posterior(mean, log_var) if training else mean
        return self.teacher_forced_logits(self.to_steps(x), z, training=training)

    def reconstruction_loss(self, steps, logits, mask=None):
        """−Σ_t m_t log p(x_t|x_<t, z) per sequence, shape (batch,): padded steps add nothing."""
        if self.model_config.likelihood == "gaussian":
            elements = losses.gaussian_nll_elements(steps, logits, self.model_config.gaussian_std)
        else:
            elements = losses.bernoulli_nll_elements(steps, logits)
        return losses.masked_step_sum(elements, mask)

    # ---- training

    def compute_terms(self, x, mask, training):
        """One-sample Monte Carlo estimate of the β-ELBO terms, each a batch mean."""
        steps = self.to_steps(x)
        mean, log_var = self.encode(steps, mask, training=training)
        z = self.sample_posterior(mean, log_var)
        logits = self.teacher_forced_logits(steps, z, training=training)
        reconstruction = tf.reduce_mean(self.reconstruction_loss(steps, logits, mask))
        kl = tf.reduce_mean(losses.kl_divergence_normal(mean, log_var))
        weight = losses.kl_weight(self.optimizer.iterations, self.model_config.beta,
                                 self.model_config.kl_warmup_steps)
        return {"loss": losses.negative_elbo(reconstruction, kl, weight), "reconstruction": reconstruction,
                "kl": kl}

    def batch_inputs(self, data):
        """(x, mask) from a sequence source's batch, else (x, None): every step is real."""
        if isinstance(data, (tuple, list)):
            return data[0], data[1] if len(data) > 1 else None
        return data, None

    # ---- SavedModel endpoints (runs/export.py)

    def endpoints(self) -> dict:
        """encode(x) with any number of steps (pass the real steps only), and decode(z, length) and
        sample(z, length) generating ``length`` steps (an int32 scalar; the data's is in the info JSON)."""
        x_spec = tf.TensorSpec((None, None, *self.image_shape[1:]), tf.float32, name="x")
        z_spec, length_spec = self.z_spec(), tf.TensorSpec((), tf.int32, name="length")
        return {"encode": (lambda x: self.encode(x), [x_spec]),
                "decode": (lambda z, length: self.decode(z, length), [z_spec, length_spec]),
                "sample": (lambda z, length: self.generate(z, length), [z_spec, length_spec])}

    def export_info(self) -> dict:
        return {"length": self.length}  # decode and sample take a length; this is the data's
