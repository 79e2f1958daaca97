"""The documents' comparison within a CPU budget: each full-MNIST recipe trained for ``--cap-minutes`` training
CPU-minutes (or to its FID plateau) over several seeds, scored on the standard scale (the 2015 FID Inception
network, ``fid_inception``) against the 10,000 MNIST test digits, then one report with mean ± sd per metric.

    python benchmarks/compare_mnist.py --data idx:../shared/data/mnist --seeds 0,1,2 --cap-minutes 60

Stages, each resumable (run it again after a kill or a session end and it continues where it stood):
1. ``train``: every (model, seed) run trains through ``training.train_run`` in chunks that end at fixed marks of
   its training CPU time, every ``--mark-minutes`` and at the cap: a watcher thread sets the run's stop request
   once the process has spent the chunk's CPU time, and training stops at that step with a backup there
   (``StopWhenRequested``), where the next chunk resumes. At every mark the backup's model is scored in this
   process on ``--mark-samples`` samples (FID and KID against the cached statistics of all ``--real-n`` test
   digits on ``--features``, evaluation/reference_stats.py); its time is not training time. The weights of the
   best mark are kept (``best.weights.h5``) beside the last (the backup). A run stops at the cap, at the
   plateau of its marks' FID (:func:`plateau`) or when its epochs are done. A two-stage VAE ends stage 1 at
   its plateau or at ``1 - --second-stage-share`` of the cap (at the end of the epoch in progress), and its
   best mark is the best of the stage it reached last (stage 2's samples, not stage 1's). ``bench.json`` in
   the run folder keeps every chunk's CPU seconds and every mark.
2. ``evaluate``: the best and the last weights are exported into ``best/`` and ``last/`` (config.yaml and
   saved_model/, evaluate's run-folder contract) and scored with ``evaluate_run`` on ``--n`` samples against
   ``--n`` test digits, on ``--features`` (FID, KID, precision/recall, density/coverage: ``standard.json``)
   and on the library's classifier (``classifier.json``); a two-stage VAE's stage 1 alone (z ~ N(0, I)
   through its first decoder) is scored on ``--features`` too (``last/stage_one.json``), and each learned γ
   is read from the weights (``gammas.json``).
3. ``report``: ``report.md``, ``figures.json``, ``fid_curves.png`` (every seed's mark FID against training
   CPU-minutes) and ``samples.png`` (64 samples of each recipe's best seed beside 64 test digits).

CPU time is this process's (``time.process_time``: all its threads) during ``train_run``; it includes each
chunk's start (data, model, tracing) and not the marks' scoring. Steps that a killed chunk trained before its
last backup are charged at the CPU per step of the chunk that follows (``estimated`` in bench.json). The marks'
FID on ``--mark-samples`` samples is biased upwards against the final ``--n``-sample FID (the estimator's bias
falls as 1/n), so times to a quality read from the marks are conservative.
Run folders go to ``--out``/runs (git-ignored); the report, its images and figures.json are kept.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
from pathlib import Path

MODELS = {
    "vae": "configs/vae_mnist60k.yaml",
    "vae_learned_gamma": "configs/vae_learned_gamma_mnist60k.yaml",  # Dai & Wipf's stage 1 alone (issue 23)
    "two_stage_vae": "configs/two_stage_vae_mnist60k.yaml",  # Dai & Wipf's two-stage VAE (issue 23)
    "two_stage_vae_bernoulli": "configs/two_stage_vae_bernoulli_mnist60k.yaml",
    "vaegan": "configs/vaegan_mnist60k.yaml",
    "dcgan": "configs/dcgan_mnist60k.yaml",
    "dcgan_ema": "configs/dcgan_ema_mnist60k.yaml",  # the stabilized GAN (issue 11): G's moving average
    "gan_lucic": "configs/gan_lucic_mnist60k.yaml",  # Lucic et al. 2018's networks and setting (issue 23)
    "wgan_gp": "configs/wgan_gp_mnist60k.yaml",
    "wgan_lucic": "configs/wgan_lucic_mnist60k.yaml",  # Lucic et al.'s WGAN with clipping (issue 23)
}
FAMILY = {"vae": "VAE", "vae_learned_gamma": "VAE", "two_stage_vae": "VAE", "two_stage_vae_bernoulli": "VAE",
          "dcgan": "GAN", "dcgan_ema": "GAN", "gan_lucic": "GAN", "wgan_gp": "GAN",
          "wgan_lucic": "GAN"}  # VAE/GAN: a hybrid of both
# Published FIDs on the 2015 Inception network at 10,000 samples (mean ± sd over seeds), beside each recipe:
# Lucic et al. 2018 (best of their search, InfoGAN-style networks, 20 epochs) and Dai & Wipf 2019, Table 1.
PUBLISHED = {
    "vae": ("VAE, cross-entropy decoder (Dai & Wipf 2019, on their InfoGAN-style networks)", 16.6, 0.4),
    "vae_learned_gamma": ("VAE, learned γ (Dai & Wipf 2019)", 54.5, 1.0),
    "two_stage_vae": ("two-stage VAE (Dai & Wipf 2019)", 12.6, 1.5),
    "dcgan": ("NS-GAN (Lucic et al. 2018, on their InfoGAN-style networks)", 6.8, 0.5),
    "dcgan_ema": ("NS-GAN (Lucic et al. 2018, on their InfoGAN-style networks)", 6.8, 0.5),
    "gan_lucic": ("NS-GAN (Lucic et al. 2018)", 6.8, 0.5),
    "wgan_gp": ("WGAN-GP (Lucic et al. 2018, on their InfoGAN-style networks)", 20.3, 5.0),
    "wgan_lucic": ("WGAN (Lucic et al. 2018)", 6.7, 0.4),
}
STANDARD = ("fid", "kid_mean", "precision", "recall", "density", "coverage")
CLASSIFIER = ("fid", "kid_mean", "precision", "recall", "coverage", "is_mean")
VERSIONS = ("best", "last")
REAL_SEED = 0  # the real set: all --real-n held-out digits, one cache entry for every run and stage


def plateau(epochs: list[int], fids: list[float], patience: int, tolerance: float) -> tuple[bool, int | None]:
    """(plateaued, evaluation the plateau began) of an FID curve (1-based indices, NaN where not evaluated).

    The best FID so far must not have improved by more than ``tolerance`` (relative) over the last
    ``patience`` evaluations. The plateau began at the first evaluation whose FID is within ``tolerance`` of
    the best one."""
    points = [(e, f) for e, f in zip(epochs, fids) if math.isfinite(f)]
    if not points:
        return False, None
    best = min(f for _, f in points)
    began = next(e for e, f in points if f <= best * (1 + tolerance))
    if len(points) <= patience:
        return False, began
    before = min(f for _, f in points[:-patience])
    return best > before * (1 - tolerance), began


def next_mark(spent_minutes: float, mark_minutes: float, cap_minutes: float) -> float:
    """The training CPU-minute at which the chunk that starts at ``spent_minutes`` stops: the next multiple of
    ``mark_minutes`` (a chunk that ended within a second of a mark counts as at it), or the cap."""
    marks = math.floor(spent_minutes / mark_minutes + 1 / 60 / mark_minutes) + 1
    return min(cap_minutes, marks * mark_minutes)


def first_stage_end(converged: bool, cpu_minutes: float, cap_minutes: float, second_stage_share: float):
    """Why a two-stage VAE's stage 1 ends after this chunk ("plateau", "share"), or None to go on.

    Stage 1 ends at its FID plateau, or once it has spent ``1 - second_stage_share`` of the cap, so that
    stage 2 (Dai & Wipf 2019, §4) still trains within the cap that every model gets."""
    if converged:
        return "plateau"
    if second_stage_share > 0 and cpu_minutes >= cap_minutes * (1 - second_stage_share):
        return "share"
    return None


def best_mark(marks: list[dict]) -> int | None:
    """The index of the best mark: the lowest FID among the marks of the last stage reached (a two-stage VAE's
    stage-2 samples once it has any), None without marks."""
    if not marks:
        return None
    stage = max(m.get("stage", 1) for m in marks)
    candidates = [i for i, m in enumerate(marks) if m.get("stage", 1) == stage and math.isfinite(m["fid"])]
    return min(candidates, key=lambda i: marks[i]["fid"]) if candidates else None


def cpu_minutes_to(marks: list[dict], threshold: float) -> float | None:
    """Training CPU-minutes at the first mark whose FID is at most ``threshold`` (None if none is)."""
    return next((m["cpu_minutes"] for m in marks if math.isfinite(m["fid"]) and m["fid"] <= threshold), None)


def charge_unaccounted(bench: dict, global_step: int) -> None:
    """Steps the checkpoint holds beyond the last chunk bench.json counted (a chunk killed after a backup)
    are charged at the CPU per step of the next chunk: remember them here, settle them in :func:`record_chunk`."""
    counted = bench["chunks"][-1]["global_step"] if bench["chunks"] else 0
    if global_step > counted:
        bench["unaccounted_steps"] = bench.get("unaccounted_steps", 0) + global_step - counted


def record_chunk(bench: dict, start_step: int, end_step: int, cpu_seconds: float, wall_seconds: float,
                 stage: int, position: dict) -> None:
    """Append a chunk, and charge any unaccounted steps at its CPU per step (:func:`charge_unaccounted`)."""
    unaccounted = bench.pop("unaccounted_steps", 0)
    if unaccounted and end_step > start_step:
        bench["chunks"].append({"global_step": start_step, "cpu_seconds": unaccounted * cpu_seconds /
                                (end_step - start_step), "wall_seconds": 0.0, "stage": stage, "estimated": True,
                                "steps": unaccounted})
    elif unaccounted:
        bench["unaccounted_steps"] = unaccounted  # nothing trained this time: settle it later
    bench["chunks"].append({"global_step": end_step, "steps": end_step - start_step, "cpu_seconds": cpu_seconds,
                            "wall_seconds": wall_seconds, "stage": stage, "epoch": position["epoch"],
                            "step": position["step"]})


def spent_minutes(bench: dict) -> float:
    return sum(c["cpu_seconds"] for c in bench["chunks"]) / 60


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0 for a single value)."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return math.nan, math.nan
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, sd


def distinguishable(a: list[float], b: list[float]) -> tuple[bool, float]:
    """Welch's t-test between two models' per-seed values: (p < 0.05, p). Fewer than 2 seeds each, or no
    spread at all, cannot tell: (False, nan)."""
    from scipy.stats import ttest_ind

    if len(a) < 2 or len(b) < 2:
        return False, math.nan
    p = float(ttest_ind(a, b, equal_var=False).pvalue)
    return (p < 0.05, p) if math.isfinite(p) else (False, math.nan)


# ---------------------------------------------------------------- the models behind the marks


def read_position(weights: Path) -> dict:
    """Where the weights of a backup stand: epoch, step and steps_per_epoch (training/callbacks.py)."""
    import h5py

    from vae_gan_tf.training.callbacks import POSITION_ATTRIBUTE

    with h5py.File(weights, "r") as f:
        return json.loads(f.attrs[POSITION_ATTRIBUTE])


def global_step(position: dict) -> int:
    return position["epoch"] * position["steps_per_epoch"] + position["step"]


def stage_of(config, position: dict) -> int:
    """2 once a two-stage VAE's weights hold stage-2 steps (train.epochs is stage 1's length), else 1."""
    if not hasattr(config.model, "second_stage_epochs"):
        return 1
    return 2 if global_step(position) > config.train.epochs * position["steps_per_epoch"] else 1


class Scorer:
    """What every mark and every stage-1 score of one process shares: the feature extractor, the real set and
    its cached statistics (evaluation/reference_stats.py), loaded once."""

    def __init__(self, features: str, real_n: int):
        self.features, self.real_n, self.cache = features, real_n, {}

    def reference(self, config):
        from vae_gan_tf.data.held_out import held_out_images
        from vae_gan_tf.evaluation.features import make_extractor
        from vae_gan_tf.evaluation.progress import Progress
        from vae_gan_tf.evaluation.reference_stats import reference_statistics
        from vae_gan_tf.evaluation.run_metrics import evaluation_basis

        source = config.data.source
        if source not in self.cache:
            if self.features == "classifier":
                from vae_gan_tf.training.epoch_evaluation import ensure_classifier

                ensure_classifier(source)
            extractor = make_extractor(self.features, source)
            real, _ = held_out_images(config, self.real_n, REAL_SEED)
            basis = dict(evaluation_basis(extractor.name, source, len(real), REAL_SEED, real.shape[1:]),
                         real_split="held_out")
            progress = Progress(len(real), f"test digits on {extractor.name}")
            stats = reference_statistics(extractor, basis, real, progress)
            self.cache[source] = (extractor, real, stats)
        return self.cache[source]

    def restored(self, config, weights: Path):
        """The run's model with ``weights`` (a backup's, or its best copy), in the stage they stand in."""
        import keras

        from vae_gan_tf.models.catalog import build_model, compile_model

        _, real, _ = self.reference(config)
        keras.utils.set_random_seed(config.train.seed)
        model = compile_model(build_model(config, real.shape[1:]), config)
        model.load_weights(weights)
        position = read_position(weights)
        if hasattr(model, "set_stage"):
            model.set_stage(stage_of(config, position))
        return model, position

    def samples(self, model, config, n: int, seed: int, stage_one: bool = False):
        """``n`` samples in [0, 1] from codes z ~ N(0, I) drawn from ``seed`` (``stage_one``: a two-stage VAE's
        first decoder alone)."""
        import keras
        import numpy as np

        from vae_gan_tf.data.pixels import pixel_range, to_unit_range

        z = np.random.default_rng(seed + 1).standard_normal((n, model.latent_dim)).astype(np.float32)
        maps = model.decode if stage_one else model.generate
        images = np.concatenate([keras.ops.convert_to_numpy(maps(z[i:i + 500])) for i in range(0, n, 500)])
        return to_unit_range(images, pixel_range(config.data.scale))

    def score(self, images, config) -> dict:
        """FID and KID of ``images`` against the real set's cached statistics."""
        from vae_gan_tf.evaluation.metrics.fid import feature_statistics, frechet_distance
        from vae_gan_tf.evaluation.metrics.kid import kid_from_features
        from vae_gan_tf.evaluation.progress import Progress

        extractor, _, stats = self.reference(config)
        fake, _ = extractor(images, Progress(len(images), f"samples on {extractor.name}"))
        kid, _ = kid_from_features(stats.features, fake, subsets=100, subset_size=min(1000, len(images)),
                                   seed=REAL_SEED)
        fid = frechet_distance(stats.mean, stats.covariance, *feature_statistics(fake))
        return {"fid": fid, "kid": float(kid)}


# ---------------------------------------------------------------- stage 1: train to the marks


def run_config(name: str, seed: int, args, bench: dict):
    """The run's config: the recipe with the protocol's overrides (no per-epoch evaluation: the marks replace
    it) and, once decided, a two-stage VAE's stage-1 length."""
    from vae_gan_tf.config import load_config, with_absolute_paths

    overrides = [f"data.source={args.data}", f"train.seed={seed}", "train.eval_every_epochs=null", *args.set]
    config = with_absolute_paths(load_config(MODELS[name], overrides))
    if bench.get("first_stage_epochs"):
        config.train.epochs = bench["first_stage_epochs"]
    return config


def train_chunk(config, run_dir: Path, minutes: float, verbose) -> tuple[float, float, bool]:
    """Train until this process has spent ``minutes`` CPU-minutes (stopped at that step, with a backup) or the
    run's epochs are done; (CPU seconds, wall seconds, finished)."""
    from vae_gan_tf.training.callbacks import TrainingInterrupted
    from vae_gan_tf.training.fit import train_run

    stop, done = threading.Event(), threading.Event()
    start, wall = time.process_time(), time.perf_counter()

    def watch():
        while not done.wait(0.5):
            if time.process_time() - start >= minutes * 60:
                stop.set()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        train_run(config, run_dir, resume=(run_dir / "checkpoints").exists(), verbose=verbose, stop_request=stop)
        finished = True
    except TrainingInterrupted:
        finished = False
    finally:
        done.set()
        watcher.join()
    return time.process_time() - start, time.perf_counter() - wall, finished


def train_model(name: str, seed: int, args, out: Path, scorer: Scorer) -> dict:
    """Train one (model, seed) run from mark to mark until the cap, its plateau or its last epoch; return its
    bench.json (module docstring)."""
    from vae_gan_tf.runs.folder import copy_file, write_text

    run_dir = out / "runs" / f"{name}_seed{seed}"
    bench_path, latest = run_dir / "bench.json", run_dir / "checkpoints" / "latest.weights.h5"
    fresh = {"chunks": [], "marks": [], "stopped": None}
    bench = json.loads(bench_path.read_text()) if bench_path.exists() else fresh
    while bench["stopped"] is None:
        config = run_config(name, seed, args, bench)
        before = global_step(read_position(latest)) if latest.exists() else 0
        charge_unaccounted(bench, before)
        spent = spent_minutes(bench)
        target = next_mark(spent, args.mark_minutes, args.cap_minutes)
        cpu, wall, finished = train_chunk(config, run_dir, target - spent, args.verbose)
        position = read_position(latest)
        stage = stage_of(config, position)
        record_chunk(bench, before, global_step(position), cpu, wall, stage, position)
        model, _ = scorer.restored(config, latest)
        start = time.perf_counter()
        images = scorer.samples(model, config, args.mark_samples, seed)
        mark = {"cpu_minutes": spent_minutes(bench), "global_step": global_step(position),
                "epochs": global_step(position) / position["steps_per_epoch"], "stage": stage,
                "n": args.mark_samples, **scorer.score(images, config)}
        mark["seconds"] = time.perf_counter() - start
        bench["marks"].append(mark)
        if best_mark(bench["marks"]) == len(bench["marks"]) - 1:
            copy_file(latest, run_dir / "best.weights.h5")
            bench["best"] = len(bench["marks"]) - 1
        decide(bench, config, position, stage, finished, args)
        write_text(bench_path, json.dumps(bench, indent=2))
        print(json.dumps({"run": run_dir.name, **mark}), flush=True)
    return bench


def decide(bench: dict, config, position: dict, stage: int, finished: bool, args) -> None:
    """After a mark: end a two-stage VAE's stage 1, or stop the run (plateau, cap, epochs)."""
    marks = [m for m in bench["marks"] if m["stage"] == stage]
    converged, _ = plateau(list(range(1, len(marks) + 1)), [m["fid"] for m in marks], args.patience,
                           args.tolerance)
    two_stage = hasattr(config.model, "second_stage_epochs")
    if two_stage and stage == 1:  # stage 1's plateau ends stage 1, not the run
        ended = first_stage_end(converged, spent_minutes(bench), args.cap_minutes, args.second_stage_share)
        if ended and not bench.get("first_stage_epochs"):  # the epoch in progress ends stage 1
            bench["first_stage_epochs"] = position["epoch"] + (1 if position["step"] else 0)
            bench["first_stage_ended_by"] = ended
    elif converged:
        bench["stopped"] = "plateau"
    if bench["stopped"] is None and spent_minutes(bench) >= args.cap_minutes - 1 / 60:
        bench["stopped"] = "cap"
    elif bench["stopped"] is None and finished:
        bench["stopped"] = "epochs"


# ---------------------------------------------------------------- stage 2: the best and the last, at --n


def export_version(config, run_dir: Path, version: str, scorer: Scorer) -> Path:
    """``RUN/best`` or ``RUN/last``: config.yaml and the SavedModel of those weights (skipped if there)."""
    from vae_gan_tf.config import dump_config
    from vae_gan_tf.data.pixels import pixel_range
    from vae_gan_tf.runs.export import export_saved_model
    from vae_gan_tf.runs.folder import CONFIG_FILE, SAVED_MODEL, atomic, write_text

    folder = run_dir / version
    weights = run_dir / ("best.weights.h5" if version == "best" else "checkpoints/latest.weights.h5")
    if (folder / SAVED_MODEL / "saved_model.pb").exists():
        return folder
    folder.mkdir(exist_ok=True)
    model, position = scorer.restored(config, weights)
    with atomic(folder / SAVED_MODEL) as path:
        export_saved_model(model, path, pixel_range(config.data.scale))
    dump_config(config, folder / CONFIG_FILE)
    gammas = {"global_step": global_step(position), "stage": getattr(model, "stage", 1)}
    for key, value in (("gamma", getattr(model, "log_gamma", None)),
                       ("second_gamma", getattr(model, "second_log_gamma", None))):
        if value is not None:
            gammas[key] = math.exp(float(value))
    write_text(folder / "gammas.json", json.dumps(gammas, indent=2))
    return folder


def evaluate_model(name: str, seed: int, args, out: Path, scorer: Scorer) -> None:
    """Export and score the last and the best weights of a finished run (each result skipped if present).
    When the best mark is the last one, the best's scores are the last's (copied, not computed again); a
    two-stage VAE's stage 1 alone is scored for the last weights (stage 2 never changes stage 1)."""
    from vae_gan_tf.evaluation.run_metrics import evaluate_run
    from vae_gan_tf.runs.folder import copy_file, write_text

    run_dir = out / "runs" / f"{name}_seed{seed}"
    bench = finished_bench(run_dir)
    if bench is None:
        print(f"{run_dir.name}: not finished, not evaluated", flush=True)
        return
    config = run_config(name, seed, args, bench)
    from vae_gan_tf.training.epoch_evaluation import ensure_classifier

    ensure_classifier(config.data.source)  # the classifier table's features, trained once if missing
    best_is_last = bench.get("best") == len(bench["marks"]) - 1
    for version in ("last", "best"):
        folder = export_version(config, run_dir, version, scorer)
        for kind, file in ((args.features, "standard.json"), ("classifier", "classifier.json")):
            if (folder / file).exists():
                continue
            if version == "best" and best_is_last:
                copy_file(run_dir / "last" / file, folder / file)
                continue
            metrics = ["fid", "kid", "pr"] + (["is", "classes"] if kind == "classifier" else [])
            report = evaluate_run(folder, metrics=metrics, n=args.n, features=kind, real_split="held_out",
                                  verbose=False)
            write_text(folder / file, json.dumps(report, indent=2))
    last = run_dir / "last"
    if hasattr(config.model, "second_stage_epochs") and not (last / "stage_one.json").exists():
        model, _ = scorer.restored(config, run_dir / "checkpoints" / "latest.weights.h5")
        result = {"n": args.n, **scorer.score(scorer.samples(model, config, args.n, 0, stage_one=True), config)}
        write_text(last / "stage_one.json", json.dumps(result, indent=2))


def finished_bench(run_dir: Path) -> dict | None:
    """The run's bench.json if the run stopped (plateau, cap or epochs), else None: only stopped runs are
    evaluated and reported."""
    path = run_dir / "bench.json"
    bench = json.loads(path.read_text()) if path.exists() else None
    return bench if bench and bench["stopped"] is not None else None


# ---------------------------------------------------------------- stage 3: the report


def read_version(run_dir: Path, version: str) -> dict | None:
    """The scores of ``RUN/best`` or ``RUN/last``, or None until all of them exist."""
    folder = run_dir / version
    files = {"standard": "standard.json", "classifier": "classifier.json", "gammas": "gammas.json"}
    if not all((folder / f).exists() for f in files.values()):
        return None
    found = {key: json.loads((folder / f).read_text()) for key, f in files.items()}
    if (folder / "stage_one.json").exists():
        found["stage_one"] = json.loads((folder / "stage_one.json").read_text())
    return found


def collect(models, seeds, out: Path) -> dict:
    """Every finished and evaluated run's numbers. A run that is missing or unfinished is left out; the
    report says how many seeds each model has."""
    import yaml

    runs = {}
    for name in models:
        for seed in seeds:
            run_dir = out / "runs" / f"{name}_seed{seed}"
            bench = finished_bench(run_dir)
            versions = {v: read_version(run_dir, v) for v in VERSIONS}
            if bench is None or None in versions.values():
                continue
            measured = [c for c in bench["chunks"] if c.get("stage", 1) == 1 and not c.get("estimated")]
            steps, seconds = sum(c["steps"] for c in measured), sum(c["wall_seconds"] for c in measured)
            batch = yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["batch_size"]
            mark_seconds = sum(m["seconds"] for m in bench["marks"])
            last = bench["marks"][-1]
            runs[(name, seed)] = {
                "seed": seed, "bench": bench, "marks": bench["marks"], "stopped": bench["stopped"],
                "cpu_minutes": spent_minutes(bench), "epochs": last["epochs"],
                "images_per_s": steps * batch / seconds if seconds else None,
                "mark_share": mark_seconds / max(sum(c["wall_seconds"] for c in bench["chunks"]), 1e-9),
                "best_mark": bench.get("best"), **versions}
    return runs


def value(run: dict, version: str, table: str, key: str):
    return run[version][table]["metrics"].get(key)


def fid_curves_plot(runs: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vae_gan_tf.report.plotting import savefig

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colors = {}
    for (name, seed), run in runs.items():
        color = colors.setdefault(name, f"C{len(colors)}")
        points = [(m["cpu_minutes"], m["fid"]) for m in run["marks"]]
        first = seed == min(s for n, s in runs if n == name)
        ax.plot(*zip(*points), color=color, marker=".", label=name if first else None)
        if first and name in PUBLISHED:
            ax.axhline(PUBLISHED[name][1], color=color, linestyle=":", linewidth=1)
    ax.set_xlabel("training CPU-minutes")
    features = next(iter(runs.values()))["last"]["standard"]["features"]
    ax.set_ylabel(f"FID ({features}, {next(iter(runs.values()))['marks'][0]['n']} samples)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("FID at every mark, every seed (dotted: the published value)")
    fig.tight_layout()
    savefig(fig, path, dpi=100)


def samples_picture(runs: dict, models: list[str], out: Path, args) -> dict:
    """samples.png: 64 test digits, then 64 samples of each model's best seed (lowest best-checkpoint FID)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.held_out import held_out_images
    from vae_gan_tf.report.plotting import savefig, tile
    from vae_gan_tf.runs.saved_model import load_saved_model, prior_codes, read_export_info, unit_range_samples

    chosen = {m: min((r for (n, _), r in runs.items() if n == m),
                     key=lambda r: value(r, "best", "standard", "fid")) for m in models}
    first = out / "runs" / f"{models[0]}_seed{chosen[models[0]]['seed']}" / "best"
    real, _ = held_out_images(load_config(first / "config.yaml"), 64, REAL_SEED)
    panels = [("64 test digits", real)]
    for m in models:
        saved = out / "runs" / f"{m}_seed{chosen[m]['seed']}" / "best" / "saved_model"
        info = read_export_info(saved)
        images = unit_range_samples(load_saved_model(saved), info, prior_codes(info, 64, 7))
        panels.append((f"{m}, seed {chosen[m]['seed']} (best)", images))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.4 * len(panels), 2.7))
    for ax, (title, images) in zip(axes, panels):
        mosaic = tile(images, 8)
        ax.imshow(mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    savefig(fig, out / "samples.png", dpi=110)
    return {m: chosen[m]["seed"] for m in models}


def fmt(mean: float, sd: float) -> str:
    return "" if not math.isfinite(mean) else f"{mean:.4g} ± {sd:.2g}"


def report(models, seeds, out: Path, args) -> dict:
    """report.md, figures.json, fid_curves.png and samples.png from every finished, evaluated run."""
    runs = collect(models, seeds, out)
    absent = [m for m in models if not any(n == m for n, _ in runs)]
    models = [m for m in models if m not in absent]
    per_model = {name: [runs[(name, s)] for s in seeds if (name, s) in runs] for name in models}
    standard = {m: {f"{key} ({v})": mean_sd([value(r, v, "standard", key) for r in rs])
                    for key in STANDARD for v in VERSIONS} for m, rs in per_model.items()}
    classifier = {m: {f"{key} ({v})": mean_sd([value(r, v, "classifier", key) for r in rs])
                      for key in CLASSIFIER for v in VERSIONS} for m, rs in per_model.items()}
    extra = {m: {key: mean_sd([r[key] for r in rs])
                 for key in ("cpu_minutes", "epochs", "images_per_s", "mark_share")} for m, rs in per_model.items()}
    to_quality = {m: {t: [cpu_minutes_to(r["marks"], t) for r in rs] for t in args.fid_thresholds}
                  for m, rs in per_model.items()}
    some = next(iter(runs.values()))
    features, mark_n = some["last"]["standard"]["features"], some["marks"][0]["n"]
    capped = sum(r["stopped"] == "cap" for r in runs.values())
    counts = sorted({len(rs) for rs in per_model.values()})
    seeds_said = (f"{counts[0]} seed{'s' if counts[0] > 1 else ''}" if len(counts) == 1 else
                  "seeds: " + ", ".join(f"{m} {len(rs)}" for m, rs in per_model.items()))
    row = lambda label, cells: f"| {label} | " + " | ".join(cells) + " |"  # noqa: E731
    header = ["| metric | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    lines = [f"# The documents' comparison at {args.cap_minutes:g} training CPU-minutes per run, {seeds_said}", "",
             f"Command: `python benchmarks/compare_mnist.py {' '.join(sys.argv[1:])}`", "",
             f"Each run trained for {args.cap_minutes:g} training CPU-minutes ({capped} of {len(runs)} stopped "
             f"by that cap), unless the FID of its marks plateaued first (best not {100 * args.tolerance:g}% "
             f"better over the last {args.patience} marks). Marks every {args.mark_minutes:g} CPU-minutes on "
             f"{mark_n} samples; the best mark's weights (best) and the last weights (last) scored on "
             f"{some['last']['standard']['n']} samples against as many test digits. "
             f"{some['last']['standard']['features_note']}.", "",
             *([f"Not in this report (no finished, evaluated run): {', '.join(absent)}.", ""] if absent else []),
             *(f"Note: {note}\n" for note in args.note),
             "## Answers", ""]
    lines += answers(per_model)
    lines += ["", f"## The standard scale ({features}, mean ± sd over seeds)", "", *header,
              row("published FID (Inception, 10,000 samples)",
                  [f"{PUBLISHED[m][1]:g} ± {PUBLISHED[m][2]:g}: {PUBLISHED[m][0]}" if m in PUBLISHED else "—"
                   for m in models])]
    lines += [row(key, [fmt(*standard[m][key]) for m in models]) for key in standard[models[0]]]
    if any(r["last"].get("stage_one") for r in runs.values()):
        lines.append(row("two-stage VAE: stage 1 alone, FID (last)",
                         [fmt(*mean_sd([r["last"]["stage_one"]["fid"] for r in per_model[m]]))
                          if per_model[m][0]["last"].get("stage_one") else "" for m in models]))
    for key in ("gamma", "second_gamma"):
        if any(key in r["last"]["gammas"] for r in runs.values()):
            cells = [fmt(*mean_sd([r["last"]["gammas"].get(key) for r in per_model[m]])) for m in models]
            lines.append(row(f"{key.replace('_', ' ')} at the end", cells))
    labels = {"cpu_minutes": "training CPU-minutes", "epochs": "epochs trained",
              "images_per_s": "training images/s (stage 1)",
              "mark_share": "marks' scoring, share of the wall time"}
    lines += [row(labels[key], [fmt(*extra[m][key]) for m in models]) for key in labels]
    lines.append(row("seeds", [", ".join(str(r["seed"]) for r in per_model[m]) for m in models]))
    lines.append(row("stopped by", [", ".join(r["stopped"] for r in per_model[m]) for m in models]))
    lines += ["", "## The classifier scale (the library's MNIST classifier: not comparable with published values)",
              "",
              *header, *(row(key, [fmt(*classifier[m][key]) for m in models]) for key in classifier[models[0]]),
              "", f"## Time to quality (training CPU-minutes to the first mark at or below each FID, {features}, "
                  f"{mark_n} samples, mean ± sd over the seeds that reached it)", "",
              "| FID at most | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for t in args.fid_thresholds:
        cells = []
        for m in models:
            reached = [v for v in to_quality[m][t] if v is not None]
            n = len(per_model[m])
            missing = "" if len(reached) == n else f" ({len(reached)}/{n} seeds)"
            cells.append((fmt(*mean_sd(reached)) or "not reached") + missing)
        lines.append(f"| {t:g} | " + " | ".join(cells) + " |")
    fid_curves_plot(runs, out / "fid_curves.png")
    shown = samples_picture(runs, models, out, args)
    lines += ["", "![FID against training CPU-minutes, every seed](fid_curves.png)", "",
              "64 samples of each recipe's best seed (its best checkpoint) beside 64 test digits: "
              + ", ".join(f"{m} seed {s}" for m, s in shown.items()) + ".", "", "![samples](samples.png)"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    figures = {"seeds": seeds, "features": features,
               "published": {m: list(PUBLISHED[m][1:]) for m in models if m in PUBLISHED},
               "standard": {m: {k: list(v) for k, v in t.items()} for m, t in standard.items()},
               "classifier": {m: {k: list(v) for k, v in t.items()} for m, t in classifier.items()},
               "runs_summary": {m: {k: list(v) for k, v in t.items()} for m, t in extra.items()},
               "time_to_fid": {m: {str(t): v for t, v in q.items()} for m, q in to_quality.items()},
               "runs": {f"{n}_seed{s}": {"marks": r["marks"], "stopped": r["stopped"], "best_mark": r["best_mark"],
                                         "cpu_minutes": r["cpu_minutes"], "gammas": r["last"]["gammas"],
                                         "stage_one": r["last"].get("stage_one"),
                                         **{f"{v}_{t}": r[v][t]["metrics"] for v in VERSIONS
                                            for t in ("standard", "classifier")}}
                        for (n, s), r in runs.items()}}
    (out / "figures.json").write_text(json.dumps(figures, indent=2))
    return figures


def answers(per_model: dict, version: str = "last") -> list[str]:
    """The documents' own question first, VAE family against GAN family (each family's best recipe by mean
    FID, Welch's test on their per-seed FIDs), then each question decided by a standard-scale metric's means,
    or 'not distinguishable' when Welch's test on the per-seed values cannot separate the best two."""
    lines = []
    fid = {m: [value(r, version, "standard", "fid") for r in rs] for m, rs in per_model.items()}
    best_of = {}
    for family in ("VAE", "GAN"):
        members = [m for m in per_model if FAMILY.get(m) == family]
        if members:
            best_of[family] = min(members, key=lambda m: mean_sd(fid[m])[0])
    if len(best_of) == 2:
        vae, gan = best_of["VAE"], best_of["GAN"]
        separated, p = distinguishable(fid[vae], fid[gan])
        winner = min((vae, gan), key=lambda m: mean_sd(fid[m])[0])
        said = (f"**the {FAMILY[winner]} family** ({winner})" if separated else
                "**not distinguishable** at this spread" if math.isfinite(p) else
                "**not tested** (fewer than 2 seeds each)")
        lines.append(f"- VAE family or GAN family, which models MNIST better (FID, {version} checkpoint, each "
                     f"family's best recipe)? {said}: {vae} {fmt(*mean_sd(fid[vae]))} against {gan} "
                     f"{fmt(*mean_sd(fid[gan]))} (mean ± sd over {len(fid[vae])} and {len(fid[gan])} seeds), "
                     f"Welch's t-test p = {p:.3g}.")
    else:
        lines.append("- VAE family or GAN family? Not both families have a finished run.")
    questions = (("Which is closer to the data overall (FID, lower)?", "fid", False),
                 ("Which produces more faithful samples (precision)?", "precision", True),
                 ("Which is more diverse (recall)?", "recall", True),
                 ("Which covers the data (coverage)?", "coverage", True))
    for question, key, higher in questions:
        values = {m: [value(r, version, "standard", key) for r in rs] for m, rs in per_model.items()}
        ranked = sorted((m for m in values if math.isfinite(mean_sd(values[m])[0])),
                        key=lambda m: mean_sd(values[m])[0], reverse=higher)
        if len(ranked) < 2:
            lines.append(f"- {question} not enough runs.")
            continue
        best, second = ranked[:2]
        separated, p = distinguishable(values[best], values[second])
        a, b = fmt(*mean_sd(values[best])), fmt(*mean_sd(values[second]))
        verdict = (f"**{best}** ({a}) over {second} ({b}), Welch p = {p:.3g}" if separated else
                   f"**{best} and {second} are not distinguishable** at this spread ({a} vs {b}, "
                   f"Welch p = {p:.3g})")
        lines.append(f"- {question} {verdict}.")
    spread = [m for m in per_model if len(per_model[m]) > 1]
    if spread:
        stable = min(spread, key=lambda m: mean_sd(fid[m])[1])
        lines.append(f"- Which trains more stably? **{stable}**: the smallest sd of the final FID over seeds "
                     f"({mean_sd(fid[stable])[1]:.3g}; models with at least 2 seeds).")
    rates = {m: mean_sd([r["images_per_s"] for r in rs]) for m, rs in per_model.items()}
    cheap = max(rates, key=lambda m: rates[m][0] if math.isfinite(rates[m][0]) else -1)
    lines.append(f"- Which is cheaper per image? **{cheap}** ({fmt(*rates[cheap])} training images/s).")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist")
    parser.add_argument("--models", default=",".join(MODELS), help=f"a subset of {','.join(MODELS)}")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--stages", default="train,evaluate,report")
    parser.add_argument("--cap-minutes", type=float, default=60.0, help="training CPU-minutes per run")
    parser.add_argument("--mark-minutes", type=float, default=5.0, help="training CPU-minutes between marks")
    parser.add_argument("--mark-samples", type=int, default=2000, help="samples scored at every mark")
    parser.add_argument("--real-n", type=int, default=10000, help="test digits behind the marks' statistics")
    parser.add_argument("--features", default="fid_inception", choices=("fid_inception", "classifier"),
                        help="the standard scale's features (classifier: a smoke test without the FID weights)")
    parser.add_argument("--second-stage-share", type=float, default=0.2,
                        help="part of the cap kept for a two-stage VAE's stage 2 when stage 1 has not plateaued")
    parser.add_argument("--patience", type=int, default=5, help="marks without improvement = plateau")
    parser.add_argument("--tolerance", type=float, default=0.02, help="relative FID change that counts")
    parser.add_argument("--fid-thresholds", type=lambda t: [float(v) for v in t.split(",")],
                        default=[50.0, 20.0, 10.0], help="time-to-quality FIDs (default: 50,20,10)")
    parser.add_argument("--n", type=int, default=10000, help="samples (and test digits) of the final evaluation")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], help="config override for every run (smoke)")
    parser.add_argument("--note", action="append", default=[], help="a sentence the report carries about its runs")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/compare_mnist")
    args = parser.parse_args(argv)
    models, seeds = args.models.split(","), [int(s) for s in args.seeds.split(",")]
    if not 0 <= args.second_stage_share < 1:
        parser.error(f"--second-stage-share must be in [0, 1), got {args.second_stage_share}")
    if not (args.mark_minutes > 0 and args.cap_minutes > 0):
        parser.error("--mark-minutes and --cap-minutes must be positive")
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {', '.join(MODELS)}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    out = Path(args.out)
    stages = args.stages.split(",")
    scorer = Scorer(args.features, args.real_n)
    if "train" in stages:
        for seed in seeds:  # seed by seed: an early stop still leaves every model at some seeds
            for name in models:
                bench = train_model(name, seed, args, out, scorer)
                print(json.dumps({"model": name, "seed": seed, "stopped": bench["stopped"],
                                  "cpu_minutes": spent_minutes(bench)}), flush=True)
    if "evaluate" in stages:
        for name in models:
            for seed in seeds:
                evaluate_model(name, seed, args, out, scorer)
    if "report" in stages:
        figures = report(models, seeds, out, args)
        print(json.dumps(figures["standard"]))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
