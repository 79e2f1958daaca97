"""What β buys (issue 24): β-VAEs (and β-TCVAEs) on dsprites_like at 32x32, variant x seeds, scored by
disentanglement_lib's four metrics, with the ELBO and the reconstruction error beside them, Welch tests on
MIG against β = 1, a strip plot per metric and a traversal grid per variant.

    python benchmarks/disentanglement.py --betas 1,4,16 --tc-betas 6 --seeds 0,1,2 --jobs 2

Each run trains ``configs/beta_vae_dsprites_like.yaml`` with ``model.beta`` (or, for a β-TCVAE row,
``model.beta=1`` and ``model.tc_beta``) and ``train.seed`` set, with ``--threads`` TensorFlow threads, into
``OUT/runs/beta{B}_seed{S}`` (``tc{B}_seed{S}``); ``--jobs`` runs that many at once, each in a process of
its own. A finished run (its ``bench.json``) is not trained again and a scored one not scored again, so the
command resumes. CPU time is the training process's (``time.process_time``) during ``train_run``. DCI uses
``--dci-train``/``--dci-eval`` points (the issue's 10,000 / 5,000: its gradient-boosted trees are the costly
part). Results: ``OUT/results.json``, ``OUT/table.md``, ``OUT/strip.png``, ``OUT/traverse_{run}.png`` (the
seed with the median MIG of each variant).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "beta_vae_dsprites_like.yaml"
METRICS = ("mig", "beta_vae_eval_accuracy", "factor_vae_eval_accuracy", "dci_disentanglement",
           "dci_completeness", "dci_informativeness")


def variants(args) -> list[dict]:
    """The rows: β-VAEs at ``--betas`` and β-TCVAEs (β = 1) at ``--tc-betas``, each with its overrides."""
    rows = [{"label": f"β={b:g}", "name": f"beta{b:g}", "beta": b, "tc_beta": 1.0,
             "overrides": [f"model.beta={b}"]} for b in floats(args.betas)]
    rows += [{"label": f"β-TC={b:g}", "name": f"tc{b:g}", "beta": 1.0, "tc_beta": b,
              "overrides": ["model.beta=1", f"model.tc_beta={b}"]} for b in floats(args.tc_betas)]
    return rows


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def last_row(run_dir: Path) -> dict:
    from vae_gan_tf.report.plotting import read_history

    history = read_history(run_dir / "history.csv")
    return {key: values[-1] for key, values in history.items() if values}


def run_dir_of(variant: dict, seed: int, out: Path) -> Path:
    return out / "runs" / f"{variant['name']}_seed{seed}"


def train_one(variant: dict, seed: int, args, out: Path) -> dict:
    from vae_gan_tf.config import load_config
    from vae_gan_tf.training.fit import train_run

    run_dir = run_dir_of(variant, seed, out)
    bench_path = run_dir / "bench.json"
    if bench_path.exists():
        return json.loads(bench_path.read_text())
    epochs = max(1, args.steps // args.steps_per_epoch)
    config = load_config(CONFIG, [*variant["overrides"], f"train.seed={seed}", f"train.epochs={epochs}",
                                  f"train.steps_per_epoch={args.steps_per_epoch}"])
    start, wall = time.process_time(), time.perf_counter()
    train_run(config, run_dir, verbose=args.verbose)
    bench = {"label": variant["label"], "beta": variant["beta"], "tc_beta": variant["tc_beta"], "seed": seed,
             "steps": epochs * args.steps_per_epoch, "cpu_seconds": time.process_time() - start,
             "wall_seconds": time.perf_counter() - wall}
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


def welch(high: list[float], low: list[float]) -> dict | None:
    """Welch's t-test of ``high`` against ``low`` (unequal variances), two- and one-sided p."""
    from scipy.stats import ttest_ind

    if len(high) < 2 or len(low) < 2:
        return None
    test = ttest_ind(high, low, equal_var=False)
    one_sided = test.pvalue / 2 if test.statistic > 0 else 1 - test.pvalue / 2
    return {"t": float(test.statistic), "p_two_sided": float(test.pvalue), "p_one_sided_high_greater": float(one_sided)}


def summarize(rows: list[dict], labels: list[str], out: Path) -> dict:
    import numpy as np

    finals = {k for r in rows for k in r if k.startswith("final_")}
    keys = list(METRICS) + sorted(k for k in finals if any(t in k for t in ("loss", "recon", "kl", "correlation")))
    table = {}
    for label in labels:
        group = [r for r in rows if r["label"] == label]
        table[label] = {key: (float(np.mean([r[key] for r in group])),
                              float(np.std([r[key] for r in group], ddof=1)) if len(group) > 1 else 0.0)
                        for key in keys if all(key in r for r in group)}
        table[label]["seeds"] = len(group)
        table[label]["cpu_minutes_per_run"] = float(np.mean([r["cpu_seconds"] for r in group]) / 60)
    baseline = "β=1"
    tests = {label: welch([r["mig"] for r in rows if r["label"] == label],
                          [r["mig"] for r in rows if r["label"] == baseline])
             for label in labels if label != baseline and baseline in labels}
    tests = {label: test for label, test in tests.items() if test}
    lines = ["| variant | " + " | ".join(keys) + " | seeds | CPU-min/run |", "|---" * (len(keys) + 3) + "|"]
    for label, row in table.items():
        cells = [f"{row[k][0]:.3f} ± {row[k][1]:.3f}" if k in row else "-" for k in keys]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {row['seeds']} | {row['cpu_minutes_per_run']:.1f} |")
    lines.append("")
    for label, test in tests.items():
        lines.append(f"Welch test, MIG at {label} vs {baseline}: t = {test['t']:.2f}, p (two-sided) = "
                     f"{test['p_two_sided']:.4g}, p (one-sided) = {test['p_one_sided_high_greater']:.4g}")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    strip_plot(rows, labels, out / "strip.png")
    return {"table": table, "welch_mig_vs_beta1": tests}


def strip_plot(rows, labels, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(METRICS), figsize=(2.5 * len(METRICS), 2.9))
    for ax, key in zip(axes, METRICS):
        for i, label in enumerate(labels):
            values = [r[key] for r in rows if r["label"] == label]
            ax.scatter(np.full(len(values), i) + np.linspace(-0.08, 0.08, len(values)), values, s=18)
        ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=30)
        ax.set_title(key.replace("_eval_accuracy", "").replace("dci_", "DCI "), fontsize=8)
        ax.set_xlim(-0.5, len(labels) - 0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_jobs(jobs: list[tuple[dict, int]], args, out: Path) -> None:
    """Train and score each (variant, seed) in a process of its own, ``args.jobs`` at a time."""
    pending, running = list(jobs), []
    while pending or running:
        while pending and len(running) < args.jobs:
            variant, seed = pending.pop(0)
            run_dir = run_dir_of(variant, seed, out)
            run_dir.parent.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, __file__, "--out", str(out), "--seeds", str(seed), "--jobs", "1",
                       "--stages", "train,score", "--steps", str(args.steps), "--threads", str(args.threads),
                       "--steps-per-epoch", str(args.steps_per_epoch), "--dci-train", str(args.dci_train),
                       "--dci-eval", str(args.dci_eval), "--verbose", str(args.verbose),
                       "--betas", f"{variant['beta']:g}" if variant["tc_beta"] == 1 else "",
                       "--tc-betas", f"{variant['tc_beta']:g}" if variant["tc_beta"] != 1 else ""]
            log = open(out / "runs" / f"{run_dir.name}.log", "a")
            running.append((subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log, run_dir.name))
        time.sleep(2)
        for job in [j for j in running if j[0].poll() is not None]:
            running.remove(job)
            job[1].close()
            print(f"{job[2]}: exit {job[0].returncode}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--betas", default="1,4,16")
    parser.add_argument("--tc-betas", default="6", help="β-TCVAE rows (β = 1); '' for none")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=15000)
    parser.add_argument("--steps-per-epoch", type=int, default=1000)
    parser.add_argument("--dci-train", type=int, default=10000)
    parser.add_argument("--dci-eval", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once, each in its own process")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--stages", default="train,score,report")
    parser.add_argument("--out", default="benchmarks/results/disentanglement")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    todo = [(v, seed) for seed in seeds for v in variants(args)]  # seed by seed: a cut run leaves every row some seeds
    if args.jobs > 1 and {"train", "score"} & set(args.stages.split(",")):
        run_jobs(todo, args, out)
        args.stages = "report" if "report" in args.stages else ""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    rows = []
    for variant, seed in todo:
        bench = train_one(variant, seed, args, out) if "train" in args.stages else None
        run_dir = run_dir_of(variant, seed, out)
        if (run_dir / "bench.json").exists() and {"score", "report"} & set(args.stages.split(",")):
            bench = {"label": variant["label"], "tc_beta": 1.0, **json.loads((run_dir / "bench.json").read_text())}
            scores = score_one(run_dir, args) if "score" in args.stages else json.loads(
                (run_dir / "disentanglement.json").read_text())
            rows.append({**bench, "run": run_dir.name, **{k: v for k, v in scores.items() if not k.startswith("_")}})
            print(json.dumps({k: rows[-1][k] for k in ("label", "seed", "steps", "cpu_seconds", *METRICS)}), flush=True)
    if "report" in args.stages and rows:
        labels = [v["label"] for v in variants(args) if any(r["label"] == v["label"] for r in rows)]
        summary = summarize(rows, labels, out)
        (out / "results.json").write_text(json.dumps({"args": vars(args), "runs": rows, **summary}, indent=2))
        print((out / "table.md").read_text())
        from vae_gan_tf import sample

        for label in labels:
            group = sorted((r for r in rows if r["label"] == label), key=lambda r: r["mig"])
            median = group[(len(group) - 1) // 2]
            sample.main([str(out / "runs" / median["run"]), "--traverse", "--out",
                         str(out / f"traverse_{median['run']}.png")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
