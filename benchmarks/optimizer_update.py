"""What the optimizer update costs in a train step: the MLP VAE's step (doc 003 sizes, as in
``throughput.py``) with Keras's ``Adam`` and with the library's ``FusedAdam``, and its gradients alone.

Each variant is one ``tf.function`` (jit on or off) on a fixed batch; the variants are timed in
``--rounds`` alternating rounds of ``--steps`` calls and the best round of each is kept (load from a
neighbour on a shared machine only slows a round down).

    python benchmarks/optimizer_update.py --json > benchmarks/results/optimizer_update.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

MLP_VAE = ["model.architecture=mlp", "model.hidden_units=[512, 256]", "model.latent_dim=64"]


def measure(batch: int, jit: bool, steps: int, rounds: int) -> dict:
    import keras
    import tensorflow as tf

    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.models.catalog import build_model, compile_model
    from vae_gan_tf.models.optimizers import FusedAdam

    config = load_config(None, [*MLP_VAE, f"train.batch_size={batch}"])
    data = make_datasets(config)
    x = next(iter(data.train))

    def model_with(optimizer):
        model = compile_model(build_model(config, data.image_shape), config)
        model.optimizer = optimizer
        model.optimizer.build(model.trainable_variables)
        return model

    def gradients_only(model):
        def gradients(batch_data):
            with tf.GradientTape() as tape:
                loss = model.compute_terms(*model.batch_inputs(batch_data), training=True)["loss"]
            return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(loss, model.trainable_variables)])
        return gradients

    keras_adam = model_with(keras.optimizers.Adam(config.train.learning_rate))
    variants = {
        "keras_adam_step_ms": keras_adam.train_step,
        "fused_adam_step_ms": model_with(FusedAdam(config.train.learning_rate)).train_step,
        "gradients_only_ms": gradients_only(keras_adam),
    }
    functions = {name: tf.function(f, jit_compile=jit) for name, f in variants.items()}

    def rate(function):
        start = time.perf_counter()
        for _ in range(steps):
            out = function(x)
        float(tf.reduce_sum(tf.nest.flatten(out)[0]))  # wait for the last call
        return (time.perf_counter() - start) / steps * 1e3

    for function in functions.values():
        rate(function)  # trace and warm up
    best = {name: float("inf") for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            best[name] = min(best[name], rate(function))
    row = {"batch": batch, "jit": jit, "steps": steps, "rounds": rounds,
           **{name: round(ms, 3) for name, ms in best.items()}}
    row["fused_over_keras"] = round(best["fused_adam_step_ms"] / best["keras_adam_step_ms"], 3)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--jit", default="false,true")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rows = [measure(args.batch, jit == "true", args.steps, args.rounds) for jit in args.jit.split(",")]
    if args.json:
        print(json.dumps({"results": rows}))
    else:
        for row in rows:
            print(row)


if __name__ == "__main__":
    main()
