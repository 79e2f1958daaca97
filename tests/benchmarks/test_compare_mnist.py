"""The comparison benchmark's decisions (benchmarks/compare_mnist.py): when a run's FID has plateaued, how
many CPU-minutes it took to reach a quality, and when two models' seeds cannot be told apart."""

import importlib.util
import math
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


def test_cpu_minutes_to_a_threshold_counts_whole_chunks():
    curve = {"eval_fid": [40.0, 25.0, 18.0, 12.0]}
    chunks = [{"epochs": 2, "cpu_seconds": 120.0}, {"epochs": 4, "cpu_seconds": 60.0}]
    assert compare_mnist.cpu_minutes_to(curve, chunks, "eval_fid", 25.0) == pytest.approx(2.0)
    assert compare_mnist.cpu_minutes_to(curve, chunks, "eval_fid", 15.0) == pytest.approx(3.0)
    assert compare_mnist.cpu_minutes_to(curve, chunks, "eval_fid", 5.0) is None


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


def _fake_run(runs, name, seed, fids, stopped, evaluated=True):
    """A run folder as compare_mnist leaves it: bench.json, history.csv and (once evaluated) eval.json."""
    import json

    run = runs / f"{name}_seed{seed}"
    run.mkdir(parents=True)
    chunks = [{"epochs": e + 1, "stage": 1, "cpu_seconds": 60.0, "wall_seconds": 50.0, "images_per_s": 400.0}
              for e in range(len(fids))]
    (run / "train.log").write_text("".join(f"2026-12-02 03:00:00 eval after epoch {e + 1}: fid={f}, kid=1.0 (5.0 s)\n"
                                           for e, f in enumerate(fids)))
    (run / "bench.json").write_text(json.dumps({"chunks": chunks, "stopped": stopped}))
    rows = ["epoch,loss,val_loss,eval_fid"] + [f"{e},{100 - e},{99 - e},{f}" for e, f in enumerate(fids)]
    (run / "history.csv").write_text("\n".join(rows) + "\n")
    if evaluated:
        metrics = {key: value + seed / 100 for key, value in
                   {"fid": fids[-1], "precision": 0.5, "recall": 0.6, "coverage": 0.5}.items()}
        (run / "eval.json").write_text(json.dumps({"n": 100, "metrics": metrics, "features_note": "test features"}))


def test_report_leaves_out_unfinished_runs_and_says_how_many_seeds_each_model_has(tmp_path):
    runs = tmp_path / "runs"
    for seed in (0, 1, 2):
        _fake_run(runs, "vae", seed, [80.0, 60.0 + seed], "cap")
    _fake_run(runs, "dcgan", 0, [40.0, 20.0], "cap")
    _fake_run(runs, "dcgan", 1, [42.0, 22.0], "cap")
    _fake_run(runs, "dcgan", 2, [45.0], None, evaluated=False)  # still training
    args = compare_mnist.main.__globals__["argparse"].Namespace(
        patience=5, tolerance=0.02, fid_thresholds=None, elbo_threshold=None, cap_minutes=2.0, n=100,
        note=["dcgan seed 2 was still training."])
    figures = compare_mnist.report(["vae", "dcgan", "wgan_gp"], [0, 1, 2], tmp_path, args)
    text = (tmp_path / "report.md").read_text()
    assert set(figures["runs"]) == {"vae_seed0", "vae_seed1", "vae_seed2", "dcgan_seed0", "dcgan_seed1"}
    assert "seeds: vae 3, dcgan 2" in text.splitlines()[0]
    assert "| seeds | 0, 1, 2 | 0, 1 |" in text
    assert "no finished, evaluated run): wgan_gp" in text
    assert "Note: dcgan seed 2 was still training." in text
    assert figures["table"]["dcgan"]["fid"][0] == pytest.approx(21.005)
    assert figures["runs"]["vae_seed0"]["eval_share"] == pytest.approx(0.1)  # 5 s of every 50 s epoch
