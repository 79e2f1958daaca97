"""`compare` on tiny runs (report/comparison.py): every report section, one basis for every run, refusals."""

import json

import pytest

from vae_gan_tf.errors import UserError


def test_compare_report_has_every_section_for_a_vae_and_a_gan(tiny_run, tiny_gan_run, digits_classifier, tmp_path):
    from vae_gan_tf.compare import main
    from vae_gan_tf.report.comparison import SECTIONS

    out = tmp_path / "report"
    assert main([str(tiny_run), str(tiny_gan_run), "--out", str(out), "--n", "200"]) == 0
    report = (out / "report.md").read_text()
    for section in SECTIONS:
        assert f"## {section}" in report, section
    for phrase in ("Which is sharper?", "Which is more diverse?", "Which trains more stably?", "Which is cheaper?",
                   "tiny_gan", "parameters", "train images/s", "fid", "recall", "log_likelihood_iw"):
        assert phrase in report, phrase
    assert "![tiny reconstructions](images/tiny_reconstructions.png)" in report
    assert "tiny_gan: not applicable" in report  # a GAN has no encoder to reconstruct with
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 7 and "<table" in html
    for image in ("tiny_samples.png", "tiny_interpolation.png", "tiny_latent.png", "tiny_gan_samples.png"):
        assert (out / "images" / image).stat().st_size > 0


def test_compare_refuses_a_folder_that_is_not_a_run(tmp_path):
    from vae_gan_tf.compare import main

    with pytest.raises(UserError, match="not a run folder"):
        main([str(tmp_path), "--out", str(tmp_path / "r")])


def test_compare_recomputes_a_foreign_eval_json_and_reuses_its_own(tiny_gan_run, digits_classifier, tmp_path):
    from vae_gan_tf.compare import main

    run = tiny_gan_run  # a GAN: its evaluation has no importance-weighted likelihood, so it is quick
    eval_path = run / "eval.json"
    foreign_basis = {"features": "classifier", "features_id": "classifier:digits:another-classifier",
                     "real_data": "digits", "real_split": "train", "real_n": 200, "real_seed": 0,
                     "real_shape": [8, 8, 1]}
    eval_path.write_text(json.dumps({"run": str(run), "family": "GAN", "data": "digits", "n": 200,
                                     "basis": foreign_basis, "features": "classifier",
                                     "features_note": "other",
                                     "metrics": {"fid": 4242.0, "fid_real_halves": 1.0}}))
    assert main([str(run), "--out", str(tmp_path / "a"), "--n", "200"]) == 0
    report = (tmp_path / "a" / "report.md").read_text()
    saved = json.loads(eval_path.read_text())
    assert "4242" not in report and saved["basis"] != foreign_basis
    assert saved["basis"]["features_id"].startswith("classifier:digits:") and saved["basis"]["real_n"] == 200
    lines = report.splitlines()
    assert lines[2].startswith("- Features: **classifier**") and "200 of **digits**" in lines[3]
    assert lines[4].startswith(f"- Real-halves floor: FID {saved['metrics']['fid_real_halves']:.4g}")
    saved["metrics"]["fid"] = 4242.0  # the same basis: reused, not recomputed
    eval_path.write_text(json.dumps(saved))
    assert main([str(run), "--out", str(tmp_path / "b"), "--n", "200"]) == 0
    assert "4242" in (tmp_path / "b" / "report.md").read_text()
    eval_path.unlink()


def test_compare_refuses_real_data_of_another_shape_before_writing(tiny_run, tmp_path):
    from vae_gan_tf.compare import main

    with pytest.raises(UserError, match=r"shape \(28, 28, 1\) but the runs make \(8, 8, 1\)"):
        main([str(tiny_run), "--out", str(tmp_path / "r"), "--data", "mnist5k"])
    assert not (tmp_path / "r").exists()
