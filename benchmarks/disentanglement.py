"""What β buys (issue 24): β-VAEs on dsprites_like at 32x32, β x seeds, scored by disentanglement_lib's
four metrics, with the ELBO and the reconstruction error beside them, a Welch test on MIG and a strip
plot per metric.

    nice -n 10 python benchmarks/disentanglement.py --betas 1,16 --seeds 0,1,2 --steps 15000

Each run trains ``configs/beta_vae_dsprites_like.yaml`` with ``model.beta`` and ``train.seed`` set, in this
process with ``--threads`` TensorFlow threads, into ``OUT/runs/beta{B}_seed{S}``; a finished run (its
``bench.json``) is not trained again, so the command resumes. CPU time is this process's
(``time.process_time``) during ``train_run``. DCI uses ``--dci-train``/``--dci-eval`` points (the issue's
10,000 / 5,000 unless told otherwise: its gradient-boosted trees are the costly part). Results:
``OUT/results.json``, ``OUT/table.md``, ``OUT/strip.png``, ``OUT/traverse_beta{B}.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "beta_vae_dsprites_like.yaml"
METRICS = ("mig", "beta_vae_eval_accuracy", "factor_vae_eval_accuracy", "dci_disentanglement",
           "dci_completeness", "dci_informativeness")


def last_row(run_dir: Path) -> dict:
    from vae_gan_tf.report.plotting import read_history

    history = read_history(run_dir / "history.csv")
    return {key: values[-1] for key, values in history.items() if values}


def train_one(beta: float, seed: int, args, out: Path) -> dict:
    from vae_gan_tf.config import load_config
    from vae_gan_tf.training.fit import train_run

    run_dir = out / "runs" / f"beta{beta:g}_seed{seed}"
    bench_path = run_dir / "bench.json"
    if bench_path.exists():
        return json.loads(bench_path.read_text())
    epochs = max(1, args.steps // args.steps_per_epoch)
    config = load_config(CONFIG, [f"model.beta={beta}", f"train.seed={seed}", f"train.epochs={epochs}",
                                  f"train.steps_per_epoch={args.steps_per_epoch}"])
    start, wall = time.process_time(), time.perf_counter()
    train_run(config, run_dir, verbose=args.verbose)
    bench = {"beta": beta, "seed": seed, "steps": epochs * args.steps_per_epoch,
             "cpu_seconds": time.process_time() - start, "wall_seconds": time.perf_counter() - wall}
    bench_path.write_text(json.dumps(bench, indent=2))
    return bench


def score_one(run_dir: Path, args) -> dict:
    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.dsprites import factor_grid
    from vae_gan_tf.evaluation.disentanglement_scores import encoded_pool, score_codes
    from vae_gan_tf.runs.saved_model import load_saved_model, read_export_info

    scores_path = run_dir / "disentanglement.json"
    if scores_path.exists():
        return json.loads(scores_path.read_text())
    config = load_config(run_dir / "config.yaml")
    info = read_export_info(run_dir / "saved_model")
    loaded = load_saved_model(run_dir / "saved_model")
    start = time.process_time()
    codes, classes = encoded_pool(loaded, info, factor_grid(config.data.source, config.data.image_size))
    scores = score_codes(codes, classes, ("mig", "beta_vae", "factor_vae", "dci"),
                         dci_train=args.dci_train, dci_eval=args.dci_eval)
    scores["score_cpu_seconds"] = time.process_time() - start
    scores.update({f"final_{k}": v for k, v in last_row(run_dir).items()})
    scores_path.write_text(json.dumps(scores, indent=2))
    return scores


def summarize(rows: list[dict], betas, out: Path) -> dict:
    import numpy as np
    from scipy.stats import ttest_ind

    keys = list(METRICS) + [k for k in rows[0] if k.startswith("final_") and ("loss" in k or "recon" in k or "kl" in k)]
    table = {}
    for beta in betas:
        group = [r for r in rows if r["beta"] == beta]
        table[f"{beta:g}"] = {key: (float(np.mean([r[key] for r in group])),
                                    float(np.std([r[key] for r in group], ddof=1)) if len(group) > 1 else 0.0)
                              for key in keys if all(key in r for r in group)}
        table[f"{beta:g}"]["seeds"] = len(group)
        table[f"{beta:g}"]["cpu_minutes_per_run"] = float(np.mean([r["cpu_seconds"] for r in group]) / 60)
    welch = None
    if len(betas) >= 2:
        low = [r["mig"] for r in rows if r["beta"] == min(betas)]
        high = [r["mig"] for r in rows if r["beta"] == max(betas)]
        if len(low) > 1 and len(high) > 1:
            test = ttest_ind(high, low, equal_var=False)
            welch = {"beta_high": max(betas), "beta_low": min(betas), "t": float(test.statistic),
                     "p_two_sided": float(test.pvalue),
                     "p_one_sided_high_greater": float(test.pvalue / 2 if test.statistic > 0 else 1 - test.pvalue / 2)}
    lines = ["| β | " + " | ".join(keys) + " | seeds | CPU-min/run |", "|---" * (len(keys) + 3) + "|"]
    for beta, row in table.items():
        cells = [f"{row[k][0]:.3f} ± {row[k][1]:.3f}" if k in row else "-" for k in keys]
        lines.append(f"| {beta} | " + " | ".join(cells) + f" | {row['seeds']} | {row['cpu_minutes_per_run']:.1f} |")
    if welch:
        lines += ["", f"Welch test, MIG at β={welch['beta_high']:g} vs β={welch['beta_low']:g}: t = {welch['t']:.2f}, "
                      f"p (two-sided) = {welch['p_two_sided']:.4g}, p (one-sided) = {welch['p_one_sided_high_greater']:.4g}"]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    strip_plot(rows, betas, out / "strip.png")
    return {"table": table, "welch_mig": welch}


def strip_plot(rows, betas, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(METRICS), figsize=(2.3 * len(METRICS), 2.8))
    for ax, key in zip(axes, METRICS):
        for i, beta in enumerate(betas):
            values = [r[key] for r in rows if r["beta"] == beta]
            ax.scatter(np.full(len(values), i) + np.linspace(-0.08, 0.08, len(values)), values, s=18)
        ax.set_xticks(range(len(betas)), [f"β={b:g}" for b in betas])
        ax.set_title(key.replace("_eval_accuracy", "").replace("dci_", "DCI "), fontsize=8)
        ax.set_xlim(-0.5, len(betas) - 0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--betas", default="1,4,16")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=15000)
    parser.add_argument("--steps-per-epoch", type=int, default=1000)
    parser.add_argument("--dci-train", type=int, default=10000)
    parser.add_argument("--dci-eval", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--stages", default="train,score,report")
    parser.add_argument("--out", default="benchmarks/results/disentanglement")
    args = parser.parse_args(argv)
    betas, seeds = [float(b) for b in args.betas.split(",")], [int(s) for s in args.seeds.split(",")]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in seeds:  # seed by seed: a run cut short still leaves every β at some seeds
        for beta in betas:
            bench = train_one(beta, seed, args, out) if "train" in args.stages else None
            run_dir = out / "runs" / f"beta{beta:g}_seed{seed}"
            if "score" in args.stages and (run_dir / "bench.json").exists():
                bench = json.loads((run_dir / "bench.json").read_text())
                scores = score_one(run_dir, args)
                rows.append({**bench, **{k: v for k, v in scores.items() if not k.startswith("_")}})
                print(json.dumps({k: rows[-1][k] for k in ("beta", "seed", "steps", "cpu_seconds", *METRICS)}),
                      flush=True)
    if "report" in args.stages and rows:
        summary = summarize(rows, sorted({r["beta"] for r in rows}), out)
        (out / "results.json").write_text(json.dumps({"args": vars(args), "runs": rows, **summary}, indent=2))
        print((out / "table.md").read_text())
        if "traverse" not in args.stages:
            from vae_gan_tf import sample

            for beta in sorted({r["beta"] for r in rows}):
                run_dir = out / "runs" / f"beta{beta:g}_seed{seeds[0]}"
                if (run_dir / "bench.json").exists():
                    sample.main([str(run_dir), "--traverse", "--out", str(out / f"traverse_beta{beta:g}.png")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
