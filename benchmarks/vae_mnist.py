"""The IWAE paper's one-stochastic-layer VAE on dynamically binarized MNIST, trained for a time budget.

Model (Burda et al. 2015, §5 and Table 1, "VAE, k=1"): 784-200-200-50 encoder, 50-200-200-784
Bernoulli decoder, tanh hidden units, Adam. Their anchor: test log-likelihood -86.76 nats after
3,280 passes over the data. This script reports what a fixed CPU budget reaches with the library's
own ``VAE`` model, ``fit`` and data pipeline:

- the test ELBO (one sample per image, averaged over the test set),
- the importance-weighted estimate L_k of log p(x) on the test set (log-sum-exp in float64),
- training images/s.

Usage (the real MNIST lies beside the project for benchmarks):
    python benchmarks/vae_mnist.py --data idx:../shared/data/mnist --minutes 60 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist", help="idx:DIR with MNIST IDX files")
    parser.add_argument("--minutes", type=float, default=60.0, help="training wall-clock budget")
    parser.add_argument("--threads", type=int, default=1, help="TF intra-op threads (1 = one CPU)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="initial; decays to a tenth")
    parser.add_argument("--k", type=int, default=5000, help="importance samples for L_k")
    parser.add_argument("--k-batch", type=int, default=10, help="test images per L_k step")
    parser.add_argument("--test-images", type=int, default=10000, help="test images for L_k")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.pipeline import batched
    from vae_gan_tf.data.sources import load_source
    from vae_gan_tf.models import losses
    from vae_gan_tf.models.catalog import build_model

    keras.utils.set_random_seed(args.seed)
    config = load_config(None, [
        f"data.source={args.data}", "data.binarize=true", "model.architecture=mlp",
        "model.hidden_units=[200, 200]", "model.latent_dim=50", "model.activation=tanh",
        f"train.batch_size={args.batch}", f"train.seed={args.seed}"])
    train = load_source(args.data, "train").images
    test = load_source(args.data, "test").images
    test_binary = (np.random.default_rng(1).random(test.shape) < test).astype(np.float32)
    model = build_model(config, train.shape[1:])
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    model.optimizer.build(model.trainable_variables)
    steps = len(train) // args.batch
    dataset = batched(train, args.batch, shuffle=True, seed=args.seed,
                      dynamic_binarization=True, repeat=True)

    budget = args.minutes * 60.0

    class TimeBudget(keras.callbacks.Callback):
        """Stops at the budget; decays the learning rate from lr to lr/10 exponentially in elapsed time
        (a time-based stand-in for the IWAE paper's 10^(-i/7) schedule)."""

        def on_epoch_begin(self, epoch, logs=None):
            fraction = min(1.0, (time.perf_counter() - start) / budget)
            self.model.optimizer.learning_rate.assign(args.learning_rate * 10.0 ** (-fraction))

        def on_train_batch_end(self, batch, logs=None):
            if time.perf_counter() - start > budget:
                self.model.stop_training = True

    start = time.perf_counter()
    history = model.fit(dataset, epochs=1_000_000, steps_per_epoch=steps, callbacks=[TimeBudget()],
                        verbose=2, shuffle=False)
    train_seconds = time.perf_counter() - start
    images_seen = int(model.optimizer.iterations.numpy()) * args.batch
    passes = images_seen / len(train)

    @tf.function
    def elbo_batch(x):
        mean, log_var = model.encode(x)
        z = model.sample_posterior(mean, log_var)
        return -(model.reconstruction_loss(x, model.decoder(z)) + losses.kl_divergence_normal(mean, log_var))

    elbos = [elbo_batch(test_binary[i:i + 1000]).numpy() for i in range(0, len(test_binary), 1000)]
    test_elbo = float(np.mean(np.concatenate(elbos)))

    @tf.function
    def iw_batch(x):
        log_w = model.log_importance_weights(x, args.k)
        return losses.importance_weighted_bound(tf.cast(log_w, tf.float64))

    n_iw = min(args.test_images, len(test_binary))
    progress = keras.utils.Progbar(n_iw, unit_name="image")
    bounds = []
    eval_start = time.perf_counter()
    for i in range(0, n_iw, args.k_batch):
        bounds.append(iw_batch(test_binary[i:min(i + args.k_batch, n_iw)]).numpy())
        progress.add(len(bounds[-1]))
    bounds = np.concatenate(bounds)
    results = {
        "data": args.data, "threads": args.threads, "batch": args.batch, "minutes": args.minutes,
        "train_seconds": round(train_seconds, 1), "epochs": len(history.history["loss"]),
        "passes_over_data": round(passes, 2), "train_images_per_s": round(images_seen / train_seconds, 1),
        "final_train_loss": round(float(history.history["loss"][-1]), 3),
        "test_elbo_nats": round(test_elbo, 3),
        f"test_log_likelihood_L{args.k}_nats": round(float(bounds.mean()), 3),
        "test_log_likelihood_std_error": round(float(bounds.std(ddof=1) / np.sqrt(len(bounds))), 3),
        "iw_test_images": int(n_iw), "iw_seconds": round(time.perf_counter() - eval_start, 1),
        "anchor": "Burda et al. 2015 Table 1, VAE k=1: -86.76 nats after 3,280 passes",
    }
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
