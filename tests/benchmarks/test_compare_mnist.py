"""The comparison benchmark's decisions (benchmarks/compare_mnist.py): when a run's FID has plateaued, where
each chunk stops, which mark is the best, how many CPU-minutes a quality took, when two models' seeds cannot be
told apart, the stop at a CPU mark and its resume, and the report of finished runs."""

import importlib.util
import json
import math
import shutil
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "compare_mnist", Path(__file__).resolve().parents[2] / "benchmarks" / "compare_mnist.py")
compare_mnist = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_mnist)


def test_plateau_needs_patience_evaluations_without_improvement():
    epochs = list(range(1, 9))
    falling = [50.0, 30.0, 20.0, 15.0, 12.0, 10.0, 9.0, 8.0]
    assert compare_mnist.plateau(epochs, falling, patience=3, tolerance=0.02) == (False, 8)
    flat = [50.0, 30.0, 20.0, 15.0, 15.1, 14.9, 15.2, 15.0]
    # best 14.9 is within 2% of the 15.0 before the last 3 evaluations; the plateau began at epoch 4
    assert compare_mnist.plateau(epochs, flat, patience=3, tolerance=0.02) == (True, 4)


def test_plateau_skips_epochs_without_an_evaluation():
    nan = math.nan
    assert compare_mnist.plateau([1, 2, 3, 4], [nan, 40.0, nan, 39.9], patience=1, tolerance=0.02) == (True, 2)
    assert compare_mnist.plateau([1, 2], [nan, nan], patience=1, tolerance=0.02) == (False, None)


def test_chunks_stop_at_the_next_mark_or_the_cap():
    mark = compare_mnist.next_mark
    assert mark(0.0, 5, 60) == 5
    assert mark(5.02, 5, 60) == 10  # the stop lands just after its mark
    assert mark(4.995, 5, 60) == 10  # within a second of a mark counts as at it
    assert mark(57.0, 5, 60) == 60
    assert mark(0.0, 5, 3) == 3


def test_best_mark_is_the_lowest_fid_of_the_last_stage_reached():
    marks = [{"fid": 40.0, "stage": 1}, {"fid": 20.0, "stage": 1}, {"fid": 30.0, "stage": 2}, {"fid": 25.0, "stage": 2}]
    assert compare_mnist.best_mark(marks) == 3  # stage 2's best, though stage 1 had a lower FID
    assert compare_mnist.best_mark(marks[:2]) == 1
    assert compare_mnist.best_mark([]) is None


def test_cpu_minutes_to_a_threshold_is_the_first_mark_at_or_below_it():
    marks = [{"cpu_minutes": 5.0, "fid": 80.0}, {"cpu_minutes": 10.1, "fid": 45.0}, {"cpu_minutes": 15.0, "fid": 19.0}]
    assert compare_mnist.cpu_minutes_to(marks, 50.0) == pytest.approx(10.1)
    assert compare_mnist.cpu_minutes_to(marks, 20.0) == pytest.approx(15.0)
    assert compare_mnist.cpu_minutes_to(marks, 10.0) is None


def test_steps_a_killed_chunk_kept_are_charged_at_the_next_chunks_rate():
    bench = {"chunks": [{"global_step": 100, "cpu_seconds": 60.0, "steps": 100}], "marks": [], "stopped": None}
    compare_mnist.charge_unaccounted(bench, 150)  # the checkpoint is 50 steps past what bench.json counted
    compare_mnist.record_chunk(bench, 150, 350, 120.0, 100.0, 1, {"epoch": 3, "step": 50})
    estimated, chunk = bench["chunks"][1:]
    assert estimated["estimated"] and estimated["cpu_seconds"] == pytest.approx(50 * 120.0 / 200)
    assert chunk["steps"] == 200 and "unaccounted_steps" not in bench
    assert compare_mnist.spent_minutes(bench) == pytest.approx((60 + 30 + 120) / 60)


def test_mean_sd_and_welch_decide_only_with_a_spread():
    mean, sd = compare_mnist.mean_sd([1.0, 2.0, 3.0, None, math.nan])
    assert (mean, sd) == (pytest.approx(2.0), pytest.approx(1.0))
    assert compare_mnist.mean_sd([4.0]) == (4.0, 0.0)
    separated, p = compare_mnist.distinguishable([10.0, 10.2, 9.9], [20.0, 20.3, 19.8])
    assert separated and p < 1e-3
    separated, p = compare_mnist.distinguishable([10.0, 14.0, 9.0], [11.0, 13.0, 10.5])
    assert not separated and p > 0.05
    assert compare_mnist.distinguishable([10.0], [20.0, 21.0]) == (False, pytest.approx(math.nan, nan_ok=True))


def test_two_stage_vae_ends_stage_1_at_its_plateau_or_its_share_of_the_cap():
    end = compare_mnist.first_stage_end
    assert end(True, 3.0, cap_minutes=25, second_stage_share=0.2) == "plateau"
    assert end(False, 19.9, cap_minutes=25, second_stage_share=0.2) is None
    assert end(False, 20.0, cap_minutes=25, second_stage_share=0.2) == "share"
    # no share: stage 1 may spend the whole cap, as before the share existed
    assert end(False, 30.0, cap_minutes=25, second_stage_share=0.0) is None


def test_stage_1_ends_with_the_epoch_in_progress_and_its_plateau_does_not_stop_the_run():
    from vae_gan_tf.config import load_config

    config = load_config(None, ["data.source=digits", "model.name=two_stage_vae"])
    args = compare_mnist.main.__globals__["argparse"].Namespace(patience=5, tolerance=0.02, cap_minutes=10,
                                                                 second_stage_share=0.2)
    bench = {"chunks": [{"cpu_seconds": 8.5 * 60}], "marks": [{"fid": 30.0, "stage": 1}], "stopped": None}
    compare_mnist.decide(bench, config, {"epoch": 4, "step": 7}, 1, False, args)
    assert bench["first_stage_epochs"] == 5 and bench["first_stage_ended_by"] == "share" and bench["stopped"] is None
    bench["marks"] = [{"fid": 30.0, "stage": 1}] * 7  # flat, but still in stage 1: no plateau stop
    compare_mnist.decide(bench, config, {"epoch": 4, "step": 9}, 1, False, args)
    assert bench["stopped"] is None and bench["first_stage_epochs"] == 5
    bench["chunks"].append({"cpu_seconds": 1.5 * 60})
    compare_mnist.decide(bench, config, {"epoch": 6, "step": 1}, 2, False, args)
    assert bench["stopped"] == "cap"


def test_a_chunk_stops_at_its_cpu_time_mid_epoch_and_the_next_resumes_there(tmp_path):
    from conftest import TINY_OVERRIDES

    from vae_gan_tf.config import load_config

    config = load_config(None, [*TINY_OVERRIDES, "train.epochs=50", "train.checkpoint_every_steps=1000"])
    run = tmp_path / "run"
    cpu, _, finished = compare_mnist.train_chunk(config, run, 0.05, verbose=0)
    first = compare_mnist.read_position(run / "checkpoints" / "latest.weights.h5")
    assert not finished and cpu >= 3.0 and 0 < compare_mnist.global_step(first) < 50 * first["steps_per_epoch"]
    compare_mnist.train_chunk(config, run, 0.05, verbose=0)
    second = compare_mnist.read_position(run / "checkpoints" / "latest.weights.h5")
    assert compare_mnist.global_step(second) > compare_mnist.global_step(first)
    assert "INTERRUPTED" in (run / "train.log").read_text() and not (run / "metrics.json").exists()


def _fake_run(runs, name, seed, fids, stopped, saved_model, evaluated=True):
    """A run folder as compare_mnist leaves it: bench.json with its marks, config.yaml, and (once evaluated)
    best/ and last/ with their scores; the SavedModel is a real one (for samples.png)."""
    run = runs / f"{name}_seed{seed}"
    run.mkdir(parents=True)
    marks = [{"cpu_minutes": 5.0 * (i + 1), "global_step": 100 * (i + 1), "epochs": i + 1.0, "stage": 1, "n": 50,
              "fid": f, "kid": 1.0, "seconds": 5.0} for i, f in enumerate(fids)]
    chunks = [{"global_step": 100 * (i + 1), "steps": 100, "cpu_seconds": 300.0, "wall_seconds": 50.0, "stage": 1}
              for i in range(len(fids))]
    (run / "bench.json").write_text(json.dumps({"chunks": chunks, "marks": marks, "stopped": stopped, "best": 0}))
    shutil.copy(saved_model.parent / "config.yaml", run / "config.yaml")
    if not evaluated:
        return
    for version, fid in (("best", min(fids) - 1.0), ("last", fids[-1])):
        folder = run / version
        shutil.copytree(saved_model, folder / "saved_model")
        shutil.copy(saved_model.parent / "config.yaml", folder / "config.yaml")
        metrics = {"fid": fid + seed / 100, "kid_mean": 0.1, "precision": 0.5, "recall": 0.6, "density": 0.9,
                   "coverage": 0.5 + seed / 100, "is_mean": 9.0}
        for file, features in (("standard.json", "fid_inception"), ("classifier.json", "classifier")):
            (folder / file).write_text(json.dumps({"n": 100, "metrics": metrics, "features": features,
                                                   "features_note": f"{features} features"}))
        (folder / "gammas.json").write_text(json.dumps({"global_step": 100, "stage": 1}))


def test_report_answers_vae_against_gan_first_and_leaves_out_unfinished_runs(tmp_path, tiny_gan_run):
    runs, saved = tmp_path / "runs", tiny_gan_run / "saved_model"
    for seed in (0, 1, 2):
        _fake_run(runs, "vae", seed, [80.0, 60.0 + seed], "cap", saved)
    _fake_run(runs, "gan_lucic", 0, [40.0, 20.0], "cap", saved)
    _fake_run(runs, "gan_lucic", 1, [42.0, 22.0], "cap", saved)
    _fake_run(runs, "gan_lucic", 2, [45.0], None, saved, evaluated=False)  # still training
    args = compare_mnist.main.__globals__["argparse"].Namespace(
        patience=5, tolerance=0.02, fid_thresholds=[50.0, 20.0], cap_minutes=10.0, mark_minutes=5.0, n=100,
        note=["gan_lucic seed 2 was still training."])
    figures = compare_mnist.report(["vae", "gan_lucic", "wgan_gp"], [0, 1, 2], tmp_path, args)
    text = (tmp_path / "report.md").read_text()
    assert set(figures["runs"]) == {"vae_seed0", "vae_seed1", "vae_seed2", "gan_lucic_seed0", "gan_lucic_seed1"}
    assert "seeds: vae 3, gan_lucic 2" in text.splitlines()[0]
    assert "no finished, evaluated run): wgan_gp" in text and "Note: gan_lucic seed 2 was still training." in text
    answers = text.split("## Answers")[1].strip().splitlines()
    assert answers[0].startswith("- VAE family or GAN family") and "**the GAN family** (gan_lucic)" in answers[0]
    assert "Welch's t-test p = " in answers[0]
    assert text.index("## The standard scale") < text.index("## The classifier scale")
    assert "| published FID (Inception, 10,000 samples) | 16.6 ± 0.4: " in text and "6.8 ± 0.5: " in text
    assert "| seeds | 0, 1, 2 | 0, 1 |" in text
    assert figures["standard"]["gan_lucic"]["fid (last)"][0] == pytest.approx(21.005)
    assert figures["standard"]["gan_lucic"]["fid (best)"][0] == pytest.approx(20.005)
    assert figures["time_to_fid"]["gan_lucic"]["20.0"] == [10.0, None]
    assert figures["time_to_fid"]["vae"]["50.0"] == [None, None, None]
    assert "| 50 | not reached (0/3 seeds) | 5 ± 0 |" in text
    assert (tmp_path / "fid_curves.png").stat().st_size > 0 and (tmp_path / "samples.png").stat().st_size > 0
