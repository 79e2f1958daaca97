"""Completion, denoising and samples as training data, measured for a conv VAE, a DCGAN, a CVAE and a CGAN
on full MNIST (issue 13). Short-budget models: each trains for ``--minutes`` of wall-clock time.

    python benchmarks/uses_mnist.py --data idx:../shared/data/mnist --minutes 6 --metrics-n 50 \
        --gan-steps 200 --n 2000 --out benchmarks/results/uses

Trains the four runs into ``--runs`` (skipping those already there), then runs the package's own commands
on each: ``complete --metrics`` per mask, ``denoise --metrics`` per noise, ``evaluate --metrics
...,cas,augment`` for the conditional runs, and ``compare`` over all four. Writes ``uses_mnist.json``
(every figure with its command) and the report, whose ``images/`` hold the grids, into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

MODELS = {
    "vae": "configs/vae_mnist5k.yaml",
    "dcgan": "configs/dcgan_mnist.yaml",
    "cvae": "configs/cvae_mnist.yaml",
    "cgan": "configs/cgan_mnist.yaml",
}
MASKS = ("center", "left", "top", "random:0.5")
NOISES = ("gaussian:0.3", "salt_pepper:0.2", "mask:0.3")
GANS = ("dcgan", "cgan")


def run(*args: str, skip: bool = False) -> str:
    """``python -m`` one of the package's commands (unless ``skip``); returns the command, or exits with its
    stderr when it fails."""
    if skip:
        return " ".join(["python", "-m", *args])
    command = [sys.executable, "-m", *args]
    print("$ " + " ".join(command[1:]), flush=True)
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return " ".join(["python", "-m", *args])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist")
    parser.add_argument("--minutes", type=float, default=6.0, help="training budget per model")
    parser.add_argument("--runs", default="runs/uses", help="where the four runs are (or are trained)")
    parser.add_argument(
        "--metrics-n", type=int, default=50, help="held-out images per completion / denoising"
    )
    parser.add_argument("--n", type=int, default=2000, help="samples for evaluate (and CAS)")
    parser.add_argument("--gan-steps", type=int, default=200, help="Adam steps on z for the GANs")
    parser.add_argument("--out", default="benchmarks/results/uses")
    parser.add_argument("--models", default=",".join(MODELS), help=f"a subset of {','.join(MODELS)}")
    parser.add_argument("--reuse", action="store_true",
                        help="skip the measurements the runs already hold (uses.json, a matching eval.json)")
    args = parser.parse_args(argv)
    runs, out = Path(args.runs), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figures: dict = {"data": args.data, "minutes_per_model": args.minutes, "runs": {}}
    chosen = args.models.split(",")
    if set(chosen) - set(MODELS):
        sys.exit(f"--models {args.models}: choose from {','.join(MODELS)}")
    for name in chosen:
        if not (runs / name / "saved_model").is_dir():
            run("vae_gan_tf.train", "--config", MODELS[name], "--out", str(runs / name), "--verbose", "2",
                "--set", f"data.source={args.data}", "--set", "train.epochs=100",
                "--set", f"train.time_budget_minutes={args.minutes}")
    from vae_gan_tf.config import load_config
    from vae_gan_tf.evaluation.features import classifier_path

    source = load_config(runs / chosen[0] / "config.yaml").data.source
    if not classifier_path(source).is_file():
        run("vae_gan_tf.evaluate", "--train-classifier", source, "--classifier-epochs", "5")
    for name in chosen:
        run_dir = runs / name
        commands = {}
        done = json.loads((run_dir / "uses.json").read_text()) if (run_dir / "uses.json").is_file() else {}

        def skip(section, key):  # measured by an earlier call
            return args.reuse and key in done.get(section, {})

        common = ["--metrics", "--metrics-n", str(args.metrics_n), "--out", str(out / "tmp.png")]
        if name in GANS:
            common += ["--steps", str(args.gan_steps)]
        for mask in MASKS:
            commands[f"complete {mask}"] = run("vae_gan_tf.complete", str(run_dir), "--mask", mask, *common,
                                               skip=skip("completion", mask))
        for noise in NOISES:
            commands[f"denoise {noise}"] = run("vae_gan_tf.denoise", str(run_dir), "--noise", noise, *common,
                                               skip=skip("denoising", noise))
        metrics = "fid,kid,pr,classes" + (",cas,augment" if name.startswith("c") else "")
        eval_file = run_dir / "eval.json"
        evaluated = json.loads(eval_file.read_text()) if eval_file.is_file() else {}
        fresh = evaluated.get("metrics_requested") == metrics.split(",") and evaluated.get("n") == args.n
        commands["evaluate"] = run("vae_gan_tf.evaluate", str(run_dir), "--metrics", metrics,
                                   "--n", str(args.n), skip=args.reuse and fresh)
        figures["runs"][name] = {
            "train": json.loads((run_dir / "metrics.json").read_text()),
            "uses": json.loads((run_dir / "uses.json").read_text()),
            "evaluate": json.loads((run_dir / "eval.json").read_text())["metrics"],
            "commands": commands,
        }
    (out / "tmp.png").unlink(missing_ok=True)
    run("vae_gan_tf.compare", *[str(runs / name) for name in chosen], "--out", str(out / "report"),
        "--n", str(args.n))
    (out / "report" / "report.html").unlink()  # report.md with its images/ holds the same, without base64
    (out / "uses_mnist.json").write_text(json.dumps(figures, indent=2))
    print(f"wrote {out / 'uses_mnist.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
