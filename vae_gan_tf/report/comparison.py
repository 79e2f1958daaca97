"""The comparison report of ``python -m vae_gan_tf.compare``: the documents' comparison questions put to
measurement (which model is sharper, more diverse, more stable, cheaper; the uses in ``uses_section``), with
every run evaluated on one feature extractor and one real set, written as ``report.md`` with its images in
``images/`` and as ``report.html`` with the images inline."""

from __future__ import annotations

import base64
import hashlib
import html
from pathlib import Path

from vae_gan_tf.data.held_out import source_images
from vae_gan_tf.errors import UserError
from vae_gan_tf.evaluation.run_metrics import evaluate_run, evaluation_basis, with_source
from vae_gan_tf.runs.folder import (
    CONFIG_FILE,
    CURVES,
    EVAL_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    SAVED_MODEL,
    atomic,
    check_no_links,
    check_run_folder,
    copy_file,
    is_run_folder,
    output_folder,
    read_json,
    staged_folder,
    write_text,
)
from vae_gan_tf.runs.saved_model import load_saved_model, read_export_info, slerp, unit_range_samples

SECTIONS = ("Answers", "Metrics", "Samples", "Reconstructions", "Latent interpolations", "Latent space",
            "Loss curves")
MAIN_LOSSES = ("loss", "g_loss", "d_loss")
REPORT_FILES, IMAGES = ("report.md", "report.html"), "images"  # what a report folder holds


def sharpness(images) -> float:
    """Mean gradient magnitude: the mean over images and pixels of √((∂x/∂u)² + (∂x/∂v)²) by finite
    differences. Blurry images score lower than real ones; the report gives generated / real."""
    import numpy as np

    images = np.asarray(images, np.float64)
    du = np.diff(images, axis=1)[:, :, :-1]
    dv = np.diff(images, axis=2)[:, :-1, :]
    return float(np.mean(np.sqrt(du**2 + dv**2)))


def stability(history: dict) -> dict:
    """For each main loss, the std of its last five epochs over the range it covered during the whole
    run: scale-free, and not blown up by losses whose mean is near 0 (WGAN). Lower is steadier."""
    import numpy as np

    result = {}
    for name in MAIN_LOSSES:
        values = np.asarray(history.get(name, []), np.float64)
        if len(values) >= 3 and np.ptp(values) > 0:
            result[f"{name}_last5_spread"] = float(values[-5:].std() / np.ptp(values))
    return result


def pca_2d(codes):
    import numpy as np

    centred = codes - codes.mean(axis=0)
    if codes.shape[1] <= 2:
        return centred[:, :2] if codes.shape[1] == 2 else np.concatenate([centred, 0 * centred], axis=1)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def run_pictures(run_dir: Path, config, images_dir: Path, name: str) -> dict:
    """Samples, reconstructions, interpolations and the latent view of one run, as PNG files."""
    import matplotlib.pyplot as plt
    import numpy as np
    import tensorflow as tf

    from vae_gan_tf.data.pixels import from_unit_range
    from vae_gan_tf.report.plotting import save_image_grid, save_scatter

    info = read_export_info(run_dir / SAVED_MODEL)
    loaded = load_saved_model(run_dir / SAVED_MODEL)
    pixel_range = tuple(info["pixel_range"])
    points = len(info["image_shape"]) == 1
    pictures, numbers = {}, {}
    real, labels = source_images(config, "train", 2000, seed=0)
    rng = np.random.default_rng(0)
    if hasattr(loaded, "sample"):
        z = rng.standard_normal((2000 if points else 500, info["latent_dim"])).astype(np.float32)
        generated = unit_range_samples(loaded, info, z)
        path = images_dir / f"{name}_samples.png"
        if points:
            from vae_gan_tf.data.toy2d import mixture

            save_scatter(generated, path, mixture(config.data.source)[0], title=name)
        else:
            save_image_grid(generated[:64], path, title=name)
            numbers["sharpness_generated_over_real"] = sharpness(generated) / sharpness(real[:500])
        pictures["Samples"] = path
        if not points:
            ends = rng.standard_normal((4, 2, info["latent_dim"]))
            strips = np.concatenate([slerp(a, b, 10) for a, b in ends]).astype(np.float32)
            path = images_dir / f"{name}_interpolation.png"
            strip_labels = np.repeat(np.arange(4) % (info.get("num_classes") or 1), 10)  # one class per strip
            save_image_grid(unit_range_samples(loaded, info, strips, strip_labels), path, ncols=10,
                            title=f"{name}: 4 spherical interpolations in z")
            pictures["Latent interpolations"] = path
    if hasattr(loaded, "encode"):
        scaled = from_unit_range(real, pixel_range)
        originals = scaled[:16]
        given = [tf.constant(labels[:16], tf.int32)] if info.get("num_classes") else []
        reconstructed = loaded.reconstruct(tf.constant(originals), *given).numpy()
        path = images_dir / f"{name}_reconstructions.png"
        save_image_grid(np.concatenate([originals, reconstructed]), path, pixel_range, ncols=16,
                        title=f"{name}: originals (top) and reconstructions")
        pictures["Reconstructions"] = path
        given = [tf.constant(labels[:1000], tf.int32)] if info.get("num_classes") else []
        codes = loaded.encode(tf.constant(scaled[:1000]), *given)
        codes = (codes[0] if isinstance(codes, (list, tuple)) else codes).numpy()
        view = pca_2d(codes)
        fig, ax = plt.subplots(figsize=(4.8, 4.2))
        scatter = ax.scatter(view[:, 0], view[:, 1], s=4, c=labels[:1000] if labels is not None else None,
                             cmap="tab10")
        if labels is not None:
            fig.colorbar(scatter, ax=ax, label="label")
        ax.set_title(f"{name}: {'PCA of ' if codes.shape[1] > 2 else ''}E[z|x], {codes.shape[1]}-d latent", fontsize=9)
        fig.tight_layout()
        path = images_dir / f"{name}_latent.png"
        with atomic(path, images_dir) as incoming:
            fig.savefig(incoming, dpi=100)
        plt.close(fig)
        pictures["Latent space"] = path
    if (run_dir / CURVES).exists():
        path = images_dir / f"{name}_curves.png"
        copy_file(run_dir / CURVES, path, images_dir)
        pictures["Loss curves"] = path
    return {"pictures": pictures, "numbers": numbers}


def check_runs(run_dirs, data: str | None, n: int, features: str) -> dict:
    """Before anything is written: every run finished and of one sample shape, the real set of that shape
    and its extractor present. Returns the evaluation basis every run must be measured on."""
    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.source_names import TOY_SOURCES

    shapes = {}
    for run_dir in run_dirs:
        for needed in (CONFIG_FILE, METRICS_FILE, f"{SAVED_MODEL}/saved_model.pb", HISTORY_FILE):
            if not (run_dir / needed).exists():
                raise UserError(f"{run_dir} is not a finished run folder (no {needed})")
        shapes[run_dir] = tuple(read_export_info(run_dir / SAVED_MODEL)["image_shape"])
    first = load_config(run_dirs[0] / CONFIG_FILE)
    source = data or first.data.source
    for run_dir, shape in shapes.items():
        if shape != shapes[run_dirs[0]]:
            raise UserError(f"{run_dir} makes samples of shape {shape}, {run_dirs[0]} of "
                            f"{shapes[run_dirs[0]]}: one report compares runs on one real set, so give runs "
                            "of one image shape")
    real, _ = source_images(with_source(first, source), "train", n, seed=0)
    if tuple(real.shape[1:]) != shapes[run_dirs[0]]:
        raise UserError(f"the real images of {source} have shape {tuple(real.shape[1:])} but the runs make "
                        f"{shapes[run_dirs[0]]}; give --data a source of the runs' shape")
    kind = "identity" if source in TOY_SOURCES else features
    if kind == "classifier":
        from vae_gan_tf.evaluation.features import classifier_path

        if not classifier_path(source).is_file():
            raise UserError(f"no classifier trained for data source {source!r}; train one with "
                            f"python -m vae_gan_tf.evaluate --train-classifier {source}")
    return evaluation_basis(kind, source, len(real), 0, real.shape[1:])


def collect_run(run_dir: Path, images_dir: Path, name: str, n: int, features: str, basis: dict) -> dict:
    from vae_gan_tf.config import load_config
    from vae_gan_tf.report.plotting import read_history

    config = load_config(run_dir / CONFIG_FILE)
    metrics = read_json(run_dir / METRICS_FILE, "the run's metrics", f"train it again with --overwrite --out {run_dir}")
    evaluation = read_json(run_dir / EVAL_FILE, "the run's evaluation", "delete it (compare evaluates the run again)") \
        if (run_dir / EVAL_FILE).exists() else None
    if evaluation is None or evaluation.get("basis") != basis or "fid" not in evaluation["metrics"]:
        # made on other features, other real images or another n (or before bases were recorded)
        # progress bars on (sampling, features, importance samples), and the likelihood's held-out images
        # scaled with --n like everything else, so that a small --n is a quick comparison
        evaluation = evaluate_run(run_dir, n=n, features=features, verbose=True, data=basis["real_data"],
                                  nll_images=min(1000, n))
    # sharpness, reconstructions and the latent view use the comparison's real set too
    pictures = run_pictures(run_dir, with_source(config, basis["real_data"]), images_dir, name)
    history = read_history(run_dir / HISTORY_FILE)
    row = {"family": evaluation["family"], "data": config.data.source, "trainable parameters": metrics["parameters"],
           "epochs": metrics["epochs_completed"], "train seconds (last session)": metrics["train_seconds_this_session"],
           "train images/s": metrics["train_images_per_s"], **pictures["numbers"], **stability(history),
           **evaluation["metrics"]}
    return {"name": name, "row": row, "pictures": pictures["pictures"], "features": evaluation["features_note"],
            "warnings": metrics.get("warnings", []), "evaluation": evaluation}


def basis_lines(runs) -> list[str]:
    """The report's first lines: the one extractor, the one real set and the FID floor at that size."""
    evaluation = runs[0]["evaluation"]
    basis, floor = evaluation["basis"], evaluation["metrics"].get("fid_real_halves")
    floor_text = f"{floor:.4g}" if isinstance(floor, float) else "not measured"
    return [f"- Features: **{basis['features']}** ({basis['features_id']}): {evaluation['features_note']}.",
            f"- Real images: {basis['real_n']} of **{basis['real_data']}** ({basis['real_split']} split, "
            f"seed {basis['real_seed']}), against {evaluation['n']} samples of each run.",
            f"- Real-halves floor: FID {floor_text} between two halves of the real set "
            f"({basis['real_n'] // 2} each): differences smaller than this are not evidence."]


def best(runs, key, higher=True):
    """(value, run name) of the best run by ``key``: highest, lowest, or (``higher=None``) closest to 1."""
    import math

    values = [(r["row"][key], r["name"]) for r in runs if isinstance(r["row"].get(key), (int, float))]
    if not values:
        return None
    if higher is None:
        return min(values, key=lambda pair: abs(math.log(max(pair[0], 1e-12))))
    return (max if higher else min)(values)


def answers(runs) -> list[str]:
    """The documents' questions, each answered by the measurement that decides it (or 'not measured')."""
    lines = []
    questions = [
        ("Which is sharper?", "sharpness_generated_over_real", None,
         "mean gradient magnitude of samples / of real images, closest to 1 (as sharp as the data) wins"),
        ("Which is more diverse?", "recall", True, "recall (Kynkäänniemi et al. 2019): share of real data covered"),
        ("Which produces more faithful samples?", "precision", True, "precision (Kynkäänniemi et al. 2019)"),
        ("Which is closer to the data overall?", "fid", False, "FID on the stated features (lower is better)"),
        ("Which trains more stably?", None, False,
         "std of the last 5 epochs of the main loss over its range during the run (the larger of the losses; "
         "needs 3 or more epochs)"),
        ("Which is cheaper?", "train images/s", True, "training images per second on this machine"),
    ]
    for question, key, higher, how in questions:
        if key is None:
            candidates = []
            for run in runs:
                spreads = [v for k, v in run["row"].items() if k.endswith("_last5_spread")]
                if spreads:
                    candidates.append((max(spreads), run["name"]))
            winner = min(candidates) if len(candidates) > 1 else None
            measured = len(candidates)
        else:
            measured = sum(isinstance(r["row"].get(key), (int, float)) for r in runs)
            winner = best(runs, key, higher) if measured > 1 else None
        answer = (f"**{winner[1]}** ({winner[0]:.4g})" if winner else
                  f"not comparable: {measured} of {len(runs)} runs have this measure")
        lines.append(f"- {question} {answer}: {how}.")
    return lines


def write_report(runs, out_dir: Path, extra=((), ())) -> None:
    """report.md (images in images/) and report.html (images inline); ``extra`` is (markdown lines, HTML
    fragments) of further sections, put at the end."""
    keys = []
    for run in runs:
        keys += [k for k in run["row"] if k not in keys]
    table = [["metric", *[r["name"] for r in runs]]]
    for key in keys:
        cells = []
        for run in runs:
            value = run["row"].get(key, "")
            cells.append(f"{value:.4g}" if isinstance(value, float) else str(value))
        table.append([key, *cells])
    notes = sorted({f"{r['name']}: features are {r['features']}" for r in runs})
    warnings = [f"{r['name']}: {w}" for r in runs for w in r["warnings"]]

    md = ["# Comparison of " + ", ".join(r["name"] for r in runs), "", *basis_lines(runs), "",
          "## Answers", "", *answers(runs), "", "## Metrics", "",
          "| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0]),
          *["| " + " | ".join(row) + " |" for row in table[1:]], "", *[f"- {n}" for n in notes + warnings], ""]
    body = [f"<h1>{html.escape(md[0][2:])}</h1><ul>"]
    body += [f"<li>{html.escape(line[2:]).replace('**', '')}</li>" for line in basis_lines(runs)]
    body += ["</ul><h2>Answers</h2><ul>"]
    body += [f"<li>{html.escape(line[2:]).replace('**', '')}</li>" for line in answers(runs)]
    body += ["</ul><h2>Metrics</h2><table border='1' cellspacing='0' cellpadding='3'>"]
    body += ["<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in table[0]) + "</tr>"]
    body += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table[1:]]
    body += ["</table><ul>"] + [f"<li>{html.escape(n)}</li>" for n in notes + warnings] + ["</ul>"]
    for section in SECTIONS[2:]:
        md += [f"## {section}", ""]
        body.append(f"<h2>{html.escape(section)}</h2>")
        for run in runs:
            path = run["pictures"].get(section)
            if path is None:
                md += [f"- {run['name']}: not applicable (no {'encoder' if section != 'Loss curves' else 'curves'})"]
                body.append(f"<p>{html.escape(run['name'])}: not applicable</p>")
                continue
            md += [f"**{run['name']}**", "", f"![{run['name']} {section.lower()}](images/{path.name})", ""]
            encoded = base64.b64encode(path.read_bytes()).decode()
            body.append(f"<h3>{html.escape(run['name'])}</h3><img alt='{html.escape(section)}' "
                        f"src='data:image/png;base64,{encoded}'>")
        md.append("")
    md, body = md + list(extra[0]), body + list(extra[1])
    write_text(out_dir / REPORT_FILES[0], "\n".join(md))
    write_text(out_dir / REPORT_FILES[1], "<!doctype html><html><head><meta charset='utf-8'><title>vae_gan_tf "
                                         "comparison</title></head><body>" + "\n".join(body) + "</body></html>")


def model_digest(run_dir: Path) -> str:
    """sha256 over a run's SavedModel files: equal for copies of one trained model."""
    digest = hashlib.sha256()
    for path in sorted((run_dir / SAVED_MODEL).rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(run_dir).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def check_distinct(run_dirs: list[Path]) -> None:
    """A UserError for a run given twice, or two copies of one trained model: no winner can be named."""
    seen: dict = {}
    for run_dir in run_dirs:
        key = model_digest(run_dir) if (run_dir / SAVED_MODEL).is_dir() else str(run_dir.resolve())
        if key in seen:
            raise UserError(f"{seen[key]} and {run_dir} hold the same trained model; compare different runs")
        seen[key] = run_dir


def compare_runs(run_dirs: list[Path], out_dir: Path, n: int, features: str, data: str | None) -> Path:
    """Check the runs, evaluate each on one basis, and write the report into ``out_dir``; a refused
    comparison leaves ``out_dir`` as it was."""
    from vae_gan_tf.report.plotting import read_history
    from vae_gan_tf.report.uses_section import uses_of, uses_section

    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    for run_dir in run_dirs:
        if not (run_dir / CONFIG_FILE).is_file():
            raise UserError(f"{run_dir} is not a run folder (no {CONFIG_FILE})")
        check_run_folder(run_dir)  # evaluating a run writes its eval.json
        # the files collect_run reads, checked before anything is written (issue 25)
        read_json(run_dir / METRICS_FILE, "the run's metrics", f"train it again with --overwrite --out {run_dir}")
        if (run_dir / EVAL_FILE).exists():
            read_json(run_dir / EVAL_FILE, "the run's evaluation", "delete it (compare evaluates the run again)")
        if (run_dir / HISTORY_FILE).exists():
            read_history(run_dir / HISTORY_FILE)  # one line for a history.csv that is not CSV text
    check_distinct(run_dirs)
    blocking = next((p for p in (out_dir, *out_dir.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(f"--out {out_dir}: {blocking} is a file, not a folder; give a folder for the report")
    check_no_links(out_dir, "--out")  # a report folder that is, or holds, a link
    if is_run_folder(out_dir) or (out_dir / CONFIG_FILE).exists():
        raise UserError(f"--out {out_dir} is a run folder; give a folder of its own for the report (a run "
                        "holding report files could no longer be replaced with train --overwrite)")
    basis = check_runs(run_dirs, data, n, features)
    names, runs = [], []
    # built in a hidden folder and moved into place whole: a failed comparison leaves --out as it was
    with staged_folder(out_dir, files=REPORT_FILES, folders=(IMAGES,)) as staging:
        images_dir = output_folder(staging / IMAGES)
        for run_dir in run_dirs:
            name = run_dir.resolve().name
            while name in names:
                name += "_"
            names.append(name)
            runs.append(collect_run(run_dir, images_dir, name, n, features, basis))
            print(f"collected {run_dir}")
        write_report(runs, staging, uses_section([uses_of(d, r["name"], images_dir)
                                                  for d, r in zip(run_dirs, runs)]))
    return out_dir
