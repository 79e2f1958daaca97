"""Mode collapse on the 2-D mixtures under PacGAN's protocol (Lin et al. 2018, §5.1 and Table 1).

Every row trains a GAN on ``ring8`` (8 modes, std 0.01) or ``grid25`` (25 modes, std 0.05), 100,000 fixed
training points each, through the library's own config, data pipeline, model and ``fit``, starting from the
shipped recipe (``configs/gan_ring8.yaml``, ``configs/gan_grid25.yaml``; ``configs/wgan_gp_*.yaml`` for the
WGAN-GP row) with the row's overrides. After training, 2,500 samples are scored with
``vae_gan_tf.evaluation.metrics.modes``: modes captured (a high-quality sample nearest to it), the share of high-quality
samples (within 3 std of the nearest mode) and the reverse KL of the high-quality samples' mode histogram to
uniform. Each row reports the mean ± standard error over seeds, and the CPU seconds of its runs (process
time of training: on a busy machine wall time says little). Modes and high quality are also recorded every
``--eval-every`` steps, and plotted against steps for the best and the worst row of each mixture.

Published numbers under the same metric (mean of 10 trials):
    PacGAN (Lin et al. 2018, Table 1):  GAN     ring 6.3 modes / 98.2% HQ,  grid 17.3 / 94.8%
                                        PacGAN2 ring 7.9 / 95.6%,          grid 23.8 / 91.3%
                                        PacGAN3 ring 7.8 / 97.7%,          grid 24.6 / 94.2%
                                        PacGAN4 ring 7.8 / 95.9%,          grid 24.8 / 93.6%
    VEEGAN (Srivastava et al. 2017, Table 1): ring 8 / 52.9%, grid 24.6 / 40%

Each finished run is appended to ``--runs`` (JSON lines) and skipped when the script runs again, so a long
benchmark can be stopped and continued, or split over processes with ``--shard I/N``. The summary, the JSON
and the plot are rebuilt from every run in that file:

    python benchmarks/gan_toy2d.py --seeds 5 --threads 1            # everything (hours on 2 cores)
    python benchmarks/gan_toy2d.py --rows recipe --seeds 5           # the shipped recipes only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PUBLISHED = {
    "GAN (PacGAN Table 1)": {"ring8": (6.3, 98.2), "grid25": (17.3, 94.8)},
    "PacGAN2 (Lin et al. 2018)": {"ring8": (7.9, 95.6), "grid25": (23.8, 91.3)},
    "PacGAN3 (Lin et al. 2018)": {"ring8": (7.8, 97.7), "grid25": (24.6, 94.2)},
    "PacGAN4 (Lin et al. 2018)": {"ring8": (7.8, 95.9), "grid25": (24.8, 93.6)},
    "VEEGAN (Srivastava et al. 2017)": {"ring8": (8.0, 52.9), "grid25": (24.6, 40.0)},
}
# row: (config of the mixture, overrides); "{data}" is ring8 or grid25. Every row keeps the recipe's steps,
# batch, networks and optimizer unless it names them: the rows differ in the one thing they test.
NO_STABILIZERS = ["model.pack=1", "model.spectral_norm=false", "model.r1_weight=0.0"]
GULRAJANI_TOY = ["model.d_learning_rate=1.0e-4", "model.g_learning_rate=1.0e-4", "train.epochs=100"]
ROWS = {
    "recipe": ("configs/gan_{data}.yaml", []),  # the non-saturating loss, G's moving average, no stabilizer
    "minimax": ("configs/gan_{data}.yaml", ["model.loss=minimax", *NO_STABILIZERS]),
    "least_squares": ("configs/gan_{data}.yaml", ["model.loss=least_squares", *NO_STABILIZERS]),
    "hinge": ("configs/gan_{data}.yaml", ["model.loss=hinge", *NO_STABILIZERS]),
    "nonsaturating_no_ema": ("configs/gan_{data}.yaml", ["model.loss=nonsaturating", *NO_STABILIZERS,
                                                         "model.ema_decay=null"]),
    "pack2": ("configs/gan_{data}.yaml", [*NO_STABILIZERS, "model.pack=2"]),
    "pack4": ("configs/gan_{data}.yaml", [*NO_STABILIZERS, "model.pack=4"]),
    "spectral_norm": ("configs/gan_{data}.yaml", [*NO_STABILIZERS, "model.spectral_norm=true"]),
    "r1": ("configs/gan_{data}.yaml", [*NO_STABILIZERS, "model.r1_weight=1.0"]),
    "wgan_gp": ("configs/wgan_gp_{data}.yaml", []),  # the shipped recipe: Adam 4e-4, 20,000 G steps
    # The settings of Gulrajani et al.'s toy script as they are: Adam 1e-4 and here 10,000 G steps.
    "wgan_gp_toy_script": ("configs/wgan_gp_{data}.yaml", GULRAJANI_TOY),
    # Their image setting, λ = 10, where their toy script uses 0.1 (issue 11, part 3).
    "wgan_gp_lambda10": ("configs/wgan_gp_{data}.yaml", [*GULRAJANI_TOY, "model.gp_weight=10.0"]),
}
ALWAYS_PLOTTED = ("wgan_gp", "wgan_gp_toy_script", "wgan_gp_lambda10")  # beside the best and the worst row


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, from {', '.join(ROWS)}")
    parser.add_argument("--datasets", default="ring8,grid25")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 per row")
    parser.add_argument("--eval-every", type=int, default=2000, help="steps between curve points")
    parser.add_argument("--threads", type=int, default=1, help="TF intra-op threads per process (0: TF's default)")
    parser.add_argument("--shard", default="0/1",
                        help="I/N: run every N-th of the runs asked for, starting at I (skipping those done)")
    parser.add_argument("--runs", type=Path, default=RESULTS / "gan_toy2d_runs.jsonl")
    parser.add_argument("--json", type=Path, default=RESULTS / "gan_toy2d.json")
    parser.add_argument("--plot", type=Path, default=RESULTS / "gan_toy2d_curves.png")
    parser.add_argument("--table", type=Path, default=RESULTS / "gan_toy2d.md", help="the summary as Markdown")
    parser.add_argument("--summary-only", action="store_true", help="rebuild the summary from --runs only")
    return parser.parse_args(argv)


def train_and_score(row: str, dataset: str, seed: int, eval_every: int) -> dict:
    """One run of ``row`` on ``dataset``: train from the recipe, then score 2,500 samples."""
    import keras
    import numpy as np

    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.data.toy2d import mixture
    from vae_gan_tf.evaluation.metrics.modes import mode_coverage, mode_histogram_reverse_kl
    from vae_gan_tf.models.catalog import build_model, compile_model

    config_file, overrides = ROWS[row]
    recipe = load_config(config_file.format(data=dataset), [*overrides, f"train.seed={seed}"])
    steps = recipe.train.epochs * make_datasets(recipe).steps_per_epoch  # what `train` runs for this config
    config = load_config(config_file.format(data=dataset), [
        *overrides, f"train.seed={seed}", f"train.epochs={steps // eval_every}", f"train.steps_per_epoch={eval_every}"])
    keras.utils.set_random_seed(seed)
    data = make_datasets(config)
    model = compile_model(build_model(config, data.image_shape), config)
    means, std = mixture(dataset)
    z = np.random.default_rng(10_000 + seed).standard_normal((2500, model.latent_dim)).astype(np.float32)
    curve = []

    class Curve(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            modes, high_quality = mode_coverage(keras.ops.convert_to_numpy(model.generate(z)), means, std)
            curve.append([(epoch + 1) * eval_every, modes, round(100 * high_quality, 2)])

    cpu, wall = time.process_time(), time.perf_counter()
    model.fit(data.train, epochs=config.train.epochs, steps_per_epoch=eval_every, verbose=0, shuffle=False,
              callbacks=[Curve()])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    samples = keras.ops.convert_to_numpy(model.generate(z))
    modes, high_quality = mode_coverage(samples, means, std)
    return {"row": row, "dataset": dataset, "seed": seed, "steps": steps, "modes": modes,
            "high_quality_percent": round(100 * high_quality, 2),
            "reverse_kl": mode_histogram_reverse_kl(samples, means, std),
            "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1), "curve": curve}


def mean_and_se(values):
    import numpy as np

    values = np.asarray([v for v in values if v is not None], np.float64)
    if not len(values):
        return None, None
    se = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None
    return float(values.mean()), se


def summarize(runs: list[dict], rows: list[str], datasets: list[str]) -> list[dict]:
    summary = []
    for dataset in datasets:
        for row in rows:
            chosen = [r for r in runs if r["row"] == row and r["dataset"] == dataset]
            if not chosen:
                continue
            entry = {"dataset": dataset, "row": row, "seeds": len(chosen), "steps": chosen[0]["steps"],
                     "all_modes_in_every_seed": all(r["modes"] == (8 if dataset == "ring8" else 25) for r in chosen)}
            for key in ("modes", "high_quality_percent", "reverse_kl", "cpu_seconds"):
                entry[key], entry[key + "_se"] = mean_and_se([r[key] for r in chosen])
            summary.append(entry)
    return summary


def fmt(value, se, digits=1):
    if value is None:
        return "–"
    return f"{value:.{digits}f}" + (f" ± {se:.{digits}f}" if se is not None else "")


def table(summary: list[dict]) -> str:
    lines = ["| data | row | seeds | steps | modes | % high quality | reverse KL | CPU s per run |",
             "|---|---|---|---|---|---|---|---|"]
    for dataset in sorted({s["dataset"] for s in summary}, reverse=True):
        lines += table_rows([s for s in summary if s["dataset"] == dataset], dataset)
    return "\n".join(lines)


def table_rows(summary: list[dict], dataset: str) -> list[str]:
    lines = []
    for s in summary:
        lines.append(f"| {s['dataset']} | {s['row']} | {s['seeds']} | {s['steps']} | {fmt(s['modes'], s['modes_se'])} "
                     f"| {fmt(s['high_quality_percent'], s['high_quality_percent_se'])} "
                     f"| {fmt(s['reverse_kl'], s['reverse_kl_se'], 3)} | {fmt(s['cpu_seconds'], s['cpu_seconds_se'], 0)} |")
    for name, numbers in PUBLISHED.items():
        modes, hq = numbers[dataset]
        steps = "400k" if name.startswith(("GAN", "PacGAN")) else "–"
        lines.append(f"| {dataset} | published: {name} | 10 | {steps} | {modes} | {hq} | | |")
    return lines


def plot_curves(runs: list[dict], summary: list[dict], path: Path) -> None:
    """Modes and % high quality against steps, every seed, for the best and the worst row of each mixture
    (ranked by mean modes, then mean high quality), and for the WGAN-GP rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({s["dataset"] for s in summary}, reverse=True)
    fig, axes = plt.subplots(2, len(datasets), figsize=(5.5 * len(datasets), 6.5), squeeze=False)
    for column, dataset in enumerate(datasets):
        ranked = sorted((s for s in summary if s["dataset"] == dataset),
                        key=lambda s: (s["modes"], s["high_quality_percent"] or 0.0))
        chosen = [(ranked[-1]["row"], "tab:green"), (ranked[0]["row"], "tab:red")]
        chosen += [(row, colour) for row, colour in zip(ALWAYS_PLOTTED, ("tab:blue", "tab:purple", "tab:orange"))
                   if row not in dict(chosen) and any(s["row"] == row for s in ranked)]
        for row, colour in chosen:
            for run in (r for r in runs if r["row"] == row and r["dataset"] == dataset):
                steps, modes, hq = zip(*run["curve"])
                label = f"{row}" if run["seed"] == 0 else None
                axes[0, column].plot(steps, modes, color=colour, alpha=0.7, label=label)
                axes[1, column].plot(steps, hq, color=colour, alpha=0.7, label=label)
        axes[0, column].set_title(f"{dataset}: best (green), worst (red) and WGAN-GP rows, every seed", fontsize=9)
        axes[0, column].set_ylabel("modes captured")
        axes[1, column].set_ylabel("% high-quality samples")
        axes[1, column].set_xlabel("generator steps")
        axes[0, column].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rows, datasets = args.rows.split(","), args.datasets.split(",")
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        print(f"error: unknown rows {unknown}; choose from {', '.join(ROWS)}", file=sys.stderr)
        return 2
    done = [json.loads(line) for line in args.runs.read_text().splitlines()] if args.runs.exists() else []
    if not args.summary_only:
        import tensorflow as tf

        if args.threads:
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        have = {(r["row"], r["dataset"], r["seed"]) for r in done}
        # The shard is taken over every run asked for, not over the missing ones, so shards started at
        # different times (while others append to --runs) never pick the same run.
        every = [(row, d, s) for d in datasets for row in rows for s in range(args.seeds)]
        index, count = (int(v) for v in args.shard.split("/"))
        for row, dataset, seed in [run for run in every[index::count] if run not in have]:
            run = train_and_score(row, dataset, seed, args.eval_every)
            print(json.dumps({k: v for k, v in run.items() if k != "curve"}), flush=True)
            with open(args.runs, "a") as fh:
                fh.write(json.dumps(run) + "\n")
            done.append(run)
    summary = summarize(done, list(ROWS), datasets)
    results = {"protocol": "PacGAN (Lin et al. 2018): 100,000 training points, 2,500 samples, 3-std rule",
               "summary": summary, "published": PUBLISHED, "runs_file": args.runs.name}
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(table(summary))
    args.table.write_text("Written by `python benchmarks/gan_toy2d.py` from every run in "
                          f"`{args.runs.name}`; mean ± standard error over seeds.\n\n{table(summary)}\n")
    if summary:
        plot_curves(done, summary, args.plot)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
