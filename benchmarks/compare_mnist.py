"""The documents' comparison at convergence: each full-MNIST recipe trained to its FID plateau (or a CPU cap,
the same for every model) over several seeds, then one report with mean ± sd per metric.

    python benchmarks/compare_mnist.py --data idx:../shared/data/mnist --seeds 0,1,2 --cap-minutes 120

Stages, each resumable (run it again after a kill or a session end and it continues where it stood):
1. ``train``: every (model, seed) run trains in chunks of ``--chunk-epochs`` epochs through
   ``training.train_run`` (``--resume`` after the first chunk, so a killed chunk resumes from its last
   backup). The recipes evaluate FID/KID/PR after every epoch (``train.eval_every_epochs``). After each chunk
   the run stops when its FID has plateaued (:func:`plateau`) or its training CPU time reached
   ``--cap-minutes`` (checked at chunk ends: the overshoot is at most one chunk). ``bench.json`` in the run
   folder keeps the CPU seconds and images/s of every chunk and the decision.
2. ``evaluate``: ``evaluate_run`` on ``--n`` samples of every finished run (classifier features).
3. ``report``: ``report.md`` and ``figures.json`` in ``--out``, ``fid_curves.png`` (every run's FID by epoch),
   the time-to-quality table, and ``python -m vae_gan_tf.compare`` pictures of the seed-0 runs.

CPU time is this process's (``time.process_time``: all its threads) during ``train_run``; it includes the
per-epoch evaluation and each chunk's export, and not the steps of a killed chunk after its last backup.
Run folders go to ``--out``/runs (git-ignored); the report, its images and figures.json are kept.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from pathlib import Path

MODELS = {
    "vae": "configs/vae_mnist60k.yaml",
    "two_stage_vae": "configs/two_stage_vae_mnist60k.yaml",
    "vaegan": "configs/vaegan_mnist60k.yaml",
    "dcgan": "configs/dcgan_mnist60k.yaml",
    "dcgan_ema": "configs/dcgan_ema_mnist60k.yaml",  # the stabilized GAN (issue 11): G's moving average
    "wgan_gp": "configs/wgan_gp_mnist60k.yaml",
}
REPORTED = ("fid", "kid_mean", "precision", "recall", "density", "coverage", "is_mean")
RUN_FIGURES = ("plateau_epoch", "epochs", "stopped", "cpu_minutes", "images_per_s", "eval_share", "metrics")


def plateau(epochs: list[int], fids: list[float], patience: int, tolerance: float) -> tuple[bool, int | None]:
    """(plateaued, epoch the plateau began) of an FID curve (epochs 1-based, NaN where not evaluated).

    The best FID so far must not have improved by more than ``tolerance`` (relative) over the last
    ``patience`` evaluations. The plateau began at the first epoch whose FID is within ``tolerance`` of
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


def history(run_dir: Path) -> dict:
    from vae_gan_tf.report.plotting import read_history

    path = run_dir / "history.csv"
    return read_history(path) if path.exists() else {}


def train_model(name: str, seed: int, args, out: Path) -> dict:
    """Train one (model, seed) run chunk by chunk until its plateau or the cap; return its bench.json.

    A two-stage VAE trains stage 1 to its plateau or to ``1 - --second-stage-share`` of the cap (that epoch
    then ends stage 1 for good: ``first_stage_epochs`` and ``first_stage_ended_by`` in bench.json), then
    stage 2 to its own plateau or the cap."""
    from vae_gan_tf.config import load_config, with_absolute_paths
    from vae_gan_tf.training.fit import train_run

    run_dir = out / "runs" / f"{name}_seed{seed}"
    bench_path = run_dir / "bench.json"
    bench = json.loads(bench_path.read_text()) if bench_path.exists() else {"chunks": [], "stopped": None}
    overrides = [f"data.source={args.data}", f"train.seed={seed}", *args.set]
    while bench["stopped"] is None:
        done = len(history(run_dir).get("epoch", []))
        config = with_absolute_paths(load_config(MODELS[name], overrides))  # one classifier cache key
        two_stage = hasattr(config.model, "second_stage_epochs")
        stage1 = bench.get("first_stage_epochs") or config.train.epochs
        last = stage1 + config.model.second_stage_epochs if two_stage else config.train.epochs
        target = min(done + args.chunk_epochs, stage1 if two_stage and done < stage1 else last)
        if two_stage:  # the stage boundary (train.epochs) stays put once stage 2 has begun
            config.train.epochs = min(target, stage1)
            config.model.second_stage_epochs = max(target - stage1, 0)
        else:
            config.train.epochs = target
        start, wall = time.process_time(), time.perf_counter()
        metrics = train_run(config, run_dir, resume=(run_dir / "checkpoints").exists(), verbose=args.verbose)
        bench["chunks"].append({"epochs": metrics["epochs_completed"], "stage": 2 if target > stage1 else 1,
                                "cpu_seconds": time.process_time() - start,
                                "wall_seconds": time.perf_counter() - wall,
                                "images_per_s": metrics["train_images_per_s"]})
        curve = history(run_dir)
        first = stage1 if two_stage and target > stage1 else 0  # stage 2 has a plateau of its own
        converged, _ = plateau([e + 1 for e in curve["epoch"][first:]], curve.get("eval_fid", [])[first:],
                               args.patience, args.tolerance)
        cpu_minutes = sum(c["cpu_seconds"] for c in bench["chunks"]) / 60
        if two_stage and target <= stage1:
            ended = first_stage_end(converged, cpu_minutes, args.cap_minutes, args.second_stage_share)
            if ended:
                bench["first_stage_epochs"], bench["first_stage_ended_by"] = target, ended
        elif converged:
            bench["stopped"] = "plateau"
        if bench["stopped"] is None and cpu_minutes >= args.cap_minutes:
            bench["stopped"] = "cap"
        elif bench["stopped"] is None and target >= last:
            bench["stopped"] = "epochs"
        bench_path.write_text(json.dumps(bench, indent=2))
    return bench


def first_stage_end(converged: bool, cpu_minutes: float, cap_minutes: float, second_stage_share: float):
    """Why a two-stage VAE's stage 1 ends after this chunk ("plateau", "share"), or None to go on.

    Stage 1 ends at its FID plateau, or once it has spent ``1 - second_stage_share`` of the cap, so that
    stage 2 (Dai & Wipf 2019, §4) still trains within the cap that every model gets."""
    if converged:
        return "plateau"
    if second_stage_share > 0 and cpu_minutes >= cap_minutes * (1 - second_stage_share):
        return "share"
    return None


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


def cpu_minutes_to(curve: dict, chunks: list[dict], column: str, threshold: float) -> float | None:
    """Training CPU-minutes until ``column`` first reached ``threshold`` or below, at chunk resolution."""
    values = curve.get(column, [])
    reached = next((i + 1 for i, v in enumerate(values) if math.isfinite(v) and v <= threshold), None)
    if reached is None:
        return None
    spent = 0.0
    for chunk in chunks:
        spent += chunk["cpu_seconds"]
        if chunk["epochs"] >= reached:
            return spent / 60
    return None


def finished_bench(run_dir: Path) -> dict | None:
    """The run's bench.json if the run stopped (plateau, cap or epochs), else None: only stopped runs are
    evaluated and reported."""
    path = run_dir / "bench.json"
    bench = json.loads(path.read_text()) if path.exists() else None
    return bench if bench and bench["stopped"] is not None else None


def eval_share(run_dir: Path, chunks: list[dict]) -> float | None:
    """The per-epoch evaluations' share of the run's training wall time: the seconds ``train.log`` gives
    for each ``eval after epoch`` line, over the chunks' wall seconds (a re-run evaluation counts twice)."""
    log = run_dir / "train.log"
    wall = sum(c.get("wall_seconds", 0.0) for c in chunks)
    if not log.exists() or not wall:
        return None
    seconds = [float(m.group(1)) for m in re.finditer(r"eval after epoch \d+: .*\(([\d.]+) s\)$",
                                                      log.read_text(), re.MULTILINE)]
    return sum(seconds) / wall


def collect(models, seeds, out: Path, args) -> dict:
    """Every finished and evaluated run's numbers: bench.json, history.csv, eval.json and the plateau. A run
    that is missing or unfinished is left out; the report says how many seeds each model has."""
    runs = {}
    for name in models:
        for seed in seeds:
            run_dir = out / "runs" / f"{name}_seed{seed}"
            bench = finished_bench(run_dir)
            if bench is None or not (run_dir / "eval.json").exists():
                continue
            curve = history(run_dir)
            evaluation = json.loads((run_dir / "eval.json").read_text())
            first = bench.get("first_stage_epochs") or 0
            _, began = plateau([e + 1 for e in curve["epoch"][first:]], curve.get("eval_fid", [])[first:],
                               args.patience, args.tolerance)
            # stage 1 only: a two-stage VAE's stage-2 steps run the first encoder alone, so they are cheaper
            rates = [c["images_per_s"] for c in bench["chunks"]
                     if c["images_per_s"] and c.get("stage", 1) == 1]
            runs[(name, seed)] = {
                "seed": seed, "curve": curve, "bench": bench, "metrics": evaluation["metrics"], "plateau_epoch": began,
                "epochs": len(curve.get("epoch", [])), "stopped": bench["stopped"],
                "cpu_minutes": sum(c["cpu_seconds"] for c in bench["chunks"]) / 60,
                "images_per_s": sorted(rates)[len(rates) // 2] if rates else None,
                "eval_share": eval_share(run_dir, bench["chunks"]),
                "features": evaluation["features_note"]}
    return runs


def fid_curves_plot(runs: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = {}
    for (name, seed), run in runs.items():
        color = colors.setdefault(name, f"C{len(colors)}")
        points = [(e + 1, f) for e, f in zip(run["curve"]["epoch"], run["curve"].get("eval_fid", []))
                  if math.isfinite(f)]
        if points:
            ax.plot(*zip(*points), color=color, marker=".", label=name if seed == min(s for n, s in runs
                                                                                      if n == name) else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("FID (classifier features, per-epoch samples)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("FID by epoch, every run (one colour per model)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def round_up(value: float) -> float:
    """``value`` rounded up to one decimal, so that the run it came from still reaches it."""
    return math.ceil(value * 10) / 10


def fmt(mean: float, sd: float) -> str:
    return "" if not math.isfinite(mean) else f"{mean:.4g} ± {sd:.2g}"


def report(models, seeds, out: Path, args) -> dict:
    """report.md, figures.json and fid_curves.png from every finished run."""
    runs = collect(models, seeds, out, args)
    absent = [m for m in models if not any(n == m for n, _ in runs)]
    models = [m for m in models if m not in absent]
    per_model = {name: [runs[(name, s)] for s in seeds if (name, s) in runs] for name in models}
    table = {name: {key: mean_sd([r["metrics"].get(key) for r in rs]) for key in REPORTED}
             for name, rs in per_model.items()}
    for name, rs in per_model.items():
        for key in ("plateau_epoch", "epochs", "cpu_minutes", "images_per_s", "eval_share"):
            table[name][key] = mean_sd([r[key] for r in rs])
    worst_best = max(min((f for f in r["curve"].get("eval_fid", []) if math.isfinite(f)), default=math.inf)
                     for r in runs.values())
    thresholds = args.fid_thresholds or [round_up(worst_best * k) for k in (2.0, 1.25, 1.0)]
    to_quality = {name: {t: [cpu_minutes_to(r["curve"], r["bench"]["chunks"], "eval_fid", t) for r in rs]
                         for t in thresholds} for name, rs in per_model.items()}
    elbo = {}
    if "vae" in per_model:
        losses = [min(r["curve"].get("val_loss", [math.inf])) for r in per_model["vae"]]
        elbo_threshold = args.elbo_threshold or round_up(max(losses))
        elbo = {"threshold_neg_elbo": elbo_threshold,
                "cpu_minutes": [cpu_minutes_to(r["curve"], r["bench"]["chunks"], "val_loss", elbo_threshold)
                                for r in per_model["vae"]]}
    capped = sum(r["stopped"] == "cap" for r in runs.values())
    title = ("at convergence" if not capped else
             f"at {args.cap_minutes:g} training CPU-minutes per run ({capped} of {len(runs)} runs stopped by "
             "that cap before their FID plateaued)")
    counts = sorted({len(rs) for rs in per_model.values()})
    seeds_said = (f"{counts[0]} seeds" if len(counts) == 1 else
                  "seeds: " + ", ".join(f"{m} {len(rs)}" for m, rs in per_model.items()))
    lines = [f"# The documents' comparison {title}, {seeds_said}", "",
             f"Command: `python benchmarks/compare_mnist.py {' '.join(sys.argv[1:])}`", "",
             f"Each run trained until its per-epoch FID plateaued (best FID not {100 * args.tolerance:g}% "
             f"better over the last {args.patience} evaluations) or {args.cap_minutes:g} CPU-minutes. "
             f"Final metrics on {args.n} samples; {next(iter(runs.values()))['features']}.", "",
             *([f"Not in this report (no finished, evaluated run): {', '.join(absent)}.", ""] if absent else []),
             *(f"Note: {note}\n" for note in args.note),
             "## Answers", ""]
    lines += answers(per_model, table)
    lines += ["", "## Metrics (mean ± sd over seeds)", "", "| metric | " + " | ".join(models) + " |",
              "|---|" + "---|" * len(models)]
    labels = {"plateau_epoch": "epoch the FID came within the tolerance of its best (the plateau's start if "
                             "stopped by plateau)", "epochs": "epochs trained",
              "cpu_minutes": "training CPU-minutes",
              "images_per_s": "training images/s (steady, median chunk)",
              "eval_share": "per-epoch evaluation, share of the training wall time"}
    for key in (*REPORTED, *labels):
        lines.append(f"| {labels.get(key, key)} | " + " | ".join(fmt(*table[m][key]) for m in models) + " |")
    lines.append("| seeds | " + " | ".join(", ".join(str(r["seed"]) for r in per_model[m]) for m in models) + " |")
    lines.append("| stopped by | " + " | ".join(", ".join(r["stopped"] for r in per_model[m]) for m in models)
                 + " |")
    lines += ["", "![FID of every run by epoch](fid_curves.png)", "",
              f"Samples, sharpness, interpolations and the seed-{seeds[0]} runs side by side: "
              "[pictures/report.md](pictures/report.md) (`python -m vae_gan_tf.compare`).", "",
              "## Time to quality (CPU-minutes, mean ± sd)", "",
              "| FID at most | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for t in thresholds:
        cells = []
        for m in models:
            reached = [v for v in to_quality[m][t] if v is not None]
            n = len(per_model[m])
            missing = "" if len(reached) == n else f" ({len(reached)}/{n} seeds reached it)"
            cells.append(fmt(*mean_sd(reached)) + missing)
        lines.append(f"| {t:g} | " + " | ".join(cells) + " |")
    if elbo:
        reached = [v for v in elbo["cpu_minutes"] if v is not None]
        lines += ["", f"VAE to a held-out −ELBO of {elbo['threshold_neg_elbo']:g} nats (validation images): "
                      f"{fmt(*mean_sd(reached))} CPU-minutes ({len(reached)}/{len(per_model['vae'])} seeds)."]
    fid_curves_plot(runs, out / "fid_curves.png")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    figures = {"seeds": seeds, "table": {m: {k: list(v) for k, v in t.items()} for m, t in table.items()},
               "time_to_fid": {m: {str(t): v for t, v in q.items()} for m, q in to_quality.items()},
               "time_to_elbo": elbo,
               "runs": {f"{n}_seed{s}": {k: r[k] for k in RUN_FIGURES} for (n, s), r in runs.items()}}
    (out / "figures.json").write_text(json.dumps(figures, indent=2))
    return figures


def answers(per_model: dict, table: dict) -> list[str]:
    """The documents' questions, each decided by a metric's means, or 'not distinguishable' when Welch's test
    on the per-seed values cannot separate the best model from the runner-up."""
    questions = (("Which is closer to the data overall (FID, lower)?", "fid", False),
                 ("Which produces more faithful samples (precision)?", "precision", True),
                 ("Which is more diverse (recall)?", "recall", True),
                 ("Which covers the data (coverage)?", "coverage", True))
    lines = []
    for question, key, higher in questions:
        ranked = sorted((m for m in table if math.isfinite(table[m][key][0])),
                        key=lambda m: table[m][key][0], reverse=higher)
        if len(ranked) < 2:
            lines.append(f"- {question} not enough runs.")
            continue
        best, second = ranked[:2]
        values = [[r["metrics"][key] for r in per_model[m]] for m in (best, second)]
        separated, p = distinguishable(*values)
        a, b = fmt(*table[best][key]), fmt(*table[second][key])
        verdict = (f"**{best}** ({a}) over {second} ({b}), Welch p = {p:.3g}" if separated else
                   f"**{best} and {second} are not distinguishable** at this spread ({a} vs {b}, "
                   f"Welch p = {p:.3g})")
        lines.append(f"- {question} {verdict}.")
    spread = [m for m in table if len(per_model[m]) > 1]  # one seed has no spread to compare
    if spread:
        stable = min(spread, key=lambda m: table[m]["fid"][1])
        lines.append(f"- Which trains more stably? **{stable}**: the smallest sd of the final FID over seeds "
                     f"({table[stable]['fid'][1]:.3g}; models with at least 2 seeds).")
    cheap = max(table, key=lambda m: table[m]["images_per_s"][0])
    lines.append(f"- Which is cheaper per image? **{cheap}** ({fmt(*table[cheap]['images_per_s'])} training "
                 "images/s).")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist")
    parser.add_argument("--models", default=",".join(MODELS), help=f"a subset of {','.join(MODELS)}")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--stages", default="train,evaluate,report")
    parser.add_argument("--cap-minutes", type=float, default=120.0, help="training CPU-minutes per run")
    parser.add_argument("--second-stage-share", type=float, default=0.2,
                        help="part of the cap kept for a two-stage VAE's stage 2 when stage 1 has not plateaued")
    parser.add_argument("--chunk-epochs", type=int, default=1, help="epochs between plateau checks")
    parser.add_argument("--patience", type=int, default=5, help="evaluations without improvement = plateau")
    parser.add_argument("--tolerance", type=float, default=0.02, help="relative FID change that counts")
    parser.add_argument("--fid-thresholds", type=lambda t: [float(v) for v in t.split(",")],
                        help="time-to-quality FIDs (default: 2x, 1.25x and 1x the worst run's best FID)")
    parser.add_argument("--elbo-threshold", type=float, help="VAE time to this held-out -ELBO (default: the "
                                                             "worst seed's best)")
    parser.add_argument("--n", type=int, default=10000, help="samples for the final evaluation")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], help="config override for every run (smoke)")
    parser.add_argument("--note", action="append", default=[], help="a sentence the report carries about its runs")
    parser.add_argument("--no-pictures", action="store_true", help="skip the compare report of seed-0 runs")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/compare_mnist")
    args = parser.parse_args(argv)
    models, seeds = args.models.split(","), [int(s) for s in args.seeds.split(",")]
    if not 0 <= args.second_stage_share < 1:
        parser.error(f"--second-stage-share must be in [0, 1), got {args.second_stage_share}")
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {', '.join(MODELS)}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from vae_gan_tf.evaluation.run_metrics import evaluate_run

    out = Path(args.out)
    stages = args.stages.split(",")
    if "train" in stages:
        for seed in seeds:  # seed by seed: an early stop still leaves every model at some seeds
            for name in models:
                bench = train_model(name, seed, args, out)
                print(json.dumps({"model": name, "seed": seed, **bench}), flush=True)
    if "evaluate" in stages:
        for name in models:
            for seed in seeds:
                run_dir = out / "runs" / f"{name}_seed{seed}"
                eval_path = run_dir / "eval.json"
                if finished_bench(run_dir) is None:
                    print(f"{run_dir.name}: not finished, not evaluated", flush=True)
                elif not eval_path.exists() or json.loads(eval_path.read_text())["n"] != args.n:
                    evaluate_run(run_dir, n=args.n, k=200, nll_images=500, verbose=False)
    if "report" in stages:
        figures = report(models, seeds, out, args)
        print(json.dumps(figures["table"]))
        if not args.no_pictures:
            from vae_gan_tf import compare

            shown = [out / "runs" / f"{m}_seed{seeds[0]}" for m in models]
            compare.main([*(str(run) for run in shown if finished_bench(run)), "--out",
                          str(out / "pictures"), "--n", str(args.n)])
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
