"""The comparison benchmark's decisions (benchmarks/compare_mnist.py): when a run's FID has plateaued, how
many CPU-minutes it took to reach a quality, and when two models' seeds cannot be told apart."""

import importlib.util
import math
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "compare_mnist", Path(__file__).resolve().parents[1] / "benchmarks" / "compare_mnist.py")
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
