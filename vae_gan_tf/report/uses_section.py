"""The comparison report's "Uses" section: which run completes images better, which removes noise better and
whose samples train a better classifier, from ``RUN/uses.json`` (``complete`` / ``denoise --metrics``) and
the ``cas`` / ``augment`` entries of ``RUN/eval.json``, with the grids those commands saved in ``RUN/uses/``.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from vae_gan_tf.runs.folder import EVAL_FILE, USES, USES_FILE, copy_file, read_json

QUESTIONS = (
    (
        "Which completes images better?",
        "completion",
        "masked_psnr",
        "dB PSNR over the missing pixels",
        "python -m vae_gan_tf.complete RUN --mask M --metrics",
    ),
    (
        "Which removes noise better?",
        "denoising",
        "psnr_gain",
        "dB PSNR gain over the noisy input",
        "python -m vae_gan_tf.denoise RUN --noise N --metrics",
    ),
)


def uses_of(run_dir: Path, name: str, images_dir: Path) -> dict:
    """What ``run_dir`` has measured for the uses, and its grids copied into ``images_dir``."""
    run_dir = Path(run_dir)
    uses = read_json(run_dir / USES_FILE, "uses file") if (run_dir / USES_FILE).exists() else {}
    evaluation = read_json(run_dir / EVAL_FILE, "evaluation") if (run_dir / EVAL_FILE).exists() else {}
    samples = {k: v for k, v in evaluation.get("metrics", {}).items() if k.startswith(("cas", "augment"))}
    pictures = []
    for picture in sorted((run_dir / USES).glob("*.png")) if (run_dir / USES).is_dir() else []:
        target = images_dir / f"{name}_uses_{picture.name}"
        copy_file(picture, target, images_dir)
        pictures.append(target)
    return {
        "name": name,
        "completion": uses.get("completion", {}),
        "denoising": uses.get("denoising", {}),
        "samples": samples,
        "pictures": pictures,
    }


def answer_lines(runs) -> list[str]:
    """One answer per setting (mask, noise) measured by two runs or more, and one for the samples."""
    lines = []
    for question, section, key, unit, command in QUESTIONS:
        settings = sorted({s for run in runs for s in run[section]})
        parts = []
        for setting in settings:
            values = sorted(
                ((run[section][setting][key], run["name"]) for run in runs if setting in run[section]),
                reverse=True,
            )
            shown = ", ".join(f"{n} {v:.2f}{accuracy_note(run_by(runs, n)[section][setting])}"
                              for v, n in values)
            parts.append(
                f"{setting}: **{values[0][1]}** ({shown})"
                if len(values) > 1
                else f"{setting}: only {values[0][1]} measured ({values[0][0]:.2f})"
            )
        lines.append(
            f"- {question} " + ("; ".join(parts) + f" ({unit})." if parts else f"not measured: {command}.")
        )
    cas = sorted(
        ((run["samples"]["cas"], run["name"]) for run in runs if "cas" in run["samples"]), reverse=True
    )
    if cas:
        shown = ", ".join(
            f"{n} CAS {v:.3f} (real, same size: {run_by(runs, n)['samples']['cas_real_same_size']:.3f})"
            for v, n in cas
        )
        lines.append(
            f"- Whose samples train a better classifier? **{cas[0][1]}** ({shown}; the feature CNN trained "
            "on generated images only, tested on real ones)."
        )
    else:
        lines.append(
            "- Whose samples train a better classifier? not measured: "
            "python -m vae_gan_tf.evaluate RUN --metrics cas,augment on a conditional run."
        )
    for run in runs:
        for per_class in (10, 100):
            gain = run["samples"].get(f"augment{per_class}_gain")
            if gain is not None:
                lines.append(
                    f"  - {run['name']}, {per_class} real images per class: accuracy "
                    f"{run['samples'][f'augment{per_class}_accuracy_real']:.3f} alone, "
                    f"{run['samples'][f'augment{per_class}_accuracy_with_generated']:.3f} with its samples "
                    f"added (gain {gain:+.3f} ± {run['samples'][f'augment{per_class}_gain_std']:.3f})"
                )
    return lines


def accuracy_note(scores: dict) -> str:
    """`` (classifier accuracy 0.93)`` for a completion with labels, else nothing."""
    if "accuracy_completed" not in scores:
        return ""
    return f" (classifier accuracy {scores['accuracy_completed']:.2f})"


def run_by(runs, name):
    return next(run for run in runs if run["name"] == name)


def uses_section(runs) -> tuple[list[str], list[str]]:
    """(markdown lines, HTML fragments) of the section."""
    lines = answer_lines(runs)
    md = ["## Uses: completion, denoising, samples as training data", "", *lines, ""]
    body = ["<h2>Uses: completion, denoising, samples as training data</h2><ul>"]
    body += [f"<li>{html.escape(line.strip()[2:]).replace('**', '')}</li>" for line in lines] + ["</ul>"]
    for run in runs:
        for picture in run["pictures"]:
            caption = f"{run['name']}: {picture.stem.split('_uses_', 1)[1].replace('_', ' ')}"
            md += [f"**{caption}**", "", f"![{caption}](images/{picture.name})", ""]
            encoded = base64.b64encode(picture.read_bytes()).decode()
            body.append(
                f"<h3>{html.escape(caption)}</h3><img alt='{html.escape(caption)}' "
                f"src='data:image/png;base64,{encoded}'>"
            )
    return md, body
