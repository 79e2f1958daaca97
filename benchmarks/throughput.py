"""Training throughput of the library's ``fit`` against a bare ``tf.function`` loop, and as a
fraction of this machine's float32 matmul rate, all measured in one run.

For each model (the MLP VAE with doc 003's sizes, the conv VAE, DCGAN, WGAN-GP), each batch size and
jit on/off, the script measures:
- ``fit_images_per_s``: ``model.fit`` with ``steps_per_execution`` on the library's tf.data pipeline, in
  steady state: from the end of its first execution to the end of its last (a callback's clock), so that
  ``fit``'s one-off setup (iterator, callbacks) is not charged to the steps;
- ``bare_loop_images_per_s``: the same model's ``train_step`` in a plain ``tf.function`` loop over the
  same pipeline (no callbacks, no progress bar);
- both in ``--rounds`` alternating rounds, the best round of each (load from a neighbour on a shared
  machine only ever slows a round down);
- ``train_gflops``: the float operations of one traced train step (TF's graph profiler), times steps/s.
  ``fraction_of_matmul`` divides it by ``matmul_gflops``: the best of the 2048x2048 float32 matmul rates
  timed before every measurement of the run (the machine is shared, so one reading can be low; the best
  one makes the fraction conservative).

For the MLP VAE, whose float operations are almost all matmuls, the row also gives ``matmul_only_gflops``:
the rate of the step's matmuls alone (for each Dense kernel the forward product and the two backward ones,
at the step's shapes, in one XLA-compiled function), the ceiling the whole step can approach on this
machine; ``fraction_of_matmul_only`` is the step's rate over it.

    python benchmarks/throughput.py --json > benchmarks/results/throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

MODELS = {
    "mlp_vae": (None, ["model.architecture=mlp", "model.hidden_units=[512, 256]", "model.latent_dim=64"]),
    "conv_vae": (None, []),
    "dcgan": ("configs/dcgan_mnist.yaml", []),
    "wgan_gp": ("configs/wgan_gp_mnist.yaml", []),
}
# Timed steps per round unless --steps is given: about 3-30 s of training each on 2 CPU cores.
STEPS = {"mlp_vae": 200, "conv_vae": 60, "dcgan": 20, "wgan_gp": 10}


def matmul_gflops(size=2048, repeats=20):
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    matmul(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        matmul(a, b).numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def matmul_only_gflops(model, batch: int, input_size: int, jit: bool, repeats: int = 50) -> float:
    """The rate of a train step's matmuls alone: for each 2-D kernel (k, n), x @ W (batch x k x n), the
    weight gradient x^T @ g and the input gradient g @ W^T (none for a layer that reads the data)."""
    import tensorflow as tf

    products = []
    for kernel in (w for w in model.trainable_weights if len(w.shape) == 2):
        k, n = kernel.shape
        products.append((tf.random.normal((batch, k)), tf.random.normal((k, n))))  # forward
        products.append((tf.random.normal((k, batch)), tf.random.normal((batch, n))))  # weight gradient
        if k != input_size:
            products.append((tf.random.normal((batch, n)), tf.random.normal((n, k))))  # input gradient
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in products)
    run = tf.function(lambda pairs: tf.add_n([tf.reduce_sum(tf.matmul(a, b)) for a, b in pairs]),
                      jit_compile=jit)
    run(products).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        run(products).numpy()
    return flops * repeats / (time.perf_counter() - start) / 1e9


def step_flops(concrete_function) -> float:
    """Float operations of one call of a traced function, from TF's graph profiler."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
    options = options.with_empty_output().build()
    return float(model_analyzer.profile(concrete_function.graph, options=options).total_float_ops)


def make_clock():
    import keras

    class Clock(keras.callbacks.Callback):
        """The time at the end of every execution (Keras calls batch hooks once per execution)."""

        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

    return Clock()


def measure(name, batch, jit, steps, steps_per_execution, rounds):
    import keras
    import numpy as np
    import tensorflow as tf

    from vae_gan_tf.config import images_per_step, load_config
    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.models.catalog import build_model, compile_model

    path, overrides = MODELS[name]
    config = load_config(path, [*overrides, f"train.batch_size={batch}", f"train.jit_compile={str(jit).lower()}",
                                f"train.steps_per_execution={steps_per_execution}"])
    keras.utils.set_random_seed(0)
    data = make_datasets(config)
    images = images_per_step(config)
    model = compile_model(build_model(config, data.image_shape), config)
    model.fit(data.train, epochs=1, steps_per_epoch=2 * steps_per_execution, verbose=0, shuffle=False)  # trace

    def fit_rate():
        clock = make_clock()
        model.fit(data.train, epochs=1, steps_per_epoch=steps + steps_per_execution, verbose=0, shuffle=False,
                  callbacks=[clock])
        return steps * images / (clock.times[-1] - clock.times[0])

    bare = compile_model(build_model(config, data.image_shape), config)
    step = tf.function(bare.train_step, jit_compile=jit)
    iterator = iter(data.train)
    concrete = step.get_concrete_function(next(iterator))
    for _ in range(3):
        step(next(iterator))

    def bare_rate():
        start = time.perf_counter()
        for _ in range(steps):
            logs = step(next(iterator))
        float(next(iter(logs.values())))  # wait for the last step
        return steps * images / (time.perf_counter() - start)

    fit_best = bare_best = 0.0
    for _ in range(rounds):
        fit_best = max(fit_best, fit_rate())
        bare_best = max(bare_best, bare_rate())
    flops = step_flops(concrete)
    row = {"model": name, "batch": batch, "jit": jit, "steps": steps, "rounds": rounds,
           "fit_images_per_s": round(fit_best, 1), "bare_loop_images_per_s": round(bare_best, 1),
           "fit_over_bare": round(fit_best / bare_best, 3), "train_gflops": round(flops * fit_best / images / 1e9, 2),
           "flops_per_step": flops}
    if name == "mlp_vae":
        ceiling = matmul_only_gflops(bare, batch, int(np.prod(data.image_shape)), jit)
        row["matmul_only_gflops"] = round(ceiling, 2)
        row["fraction_of_matmul_only"] = round(row["train_gflops"] / ceiling, 3)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batches", default="128,256")
    parser.add_argument("--jit", default="false,true")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps per measurement (default: per model, STEPS)")
    parser.add_argument("--steps-per-execution", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of fit and of the bare loop, alternated")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the issue's schema)")
    args = parser.parse_args(argv)
    if any((args.steps or STEPS[name]) % args.steps_per_execution for name in args.models.split(",")):
        parser.error("--steps must be a multiple of --steps-per-execution (fit is timed in whole executions)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    peak = 0.0
    results = []
    for name in args.models.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            for jit in (j == "true" for j in args.jit.split(",")):
                peak = max(peak, matmul_gflops())
                row = measure(name, batch, jit, args.steps or STEPS[name], args.steps_per_execution, args.rounds)
                results.append(row)
                if not args.json:
                    print(json.dumps(row), flush=True)
    for row in results:
        row["fraction_of_matmul"] = round(row["train_gflops"] / peak, 3)
    report = {"matmul_gflops": round(peak, 1), "results": results}
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
