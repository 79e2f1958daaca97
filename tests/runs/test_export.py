"""The SavedModel loads in a Python process that never imports vae_gan_tf, and matches the model."""

import json

import keras
import numpy as np

from conftest import call_saved_model

from vae_gan_tf.models.catalog import register_all

register_all()  # the model classes, for keras.models.load_model


def test_saved_model_endpoints_without_the_package(tiny_run, tmp_path):
    model = keras.models.load_model(tiny_run / "model.keras")
    rng = np.random.default_rng(0)
    inputs = {"n": np.int32(5)}
    calls = {"generate_5": ["generate", ["n"]]}
    for n in (1, 3, 7):
        inputs[f"x{n}"] = rng.random((n, *model.image_shape)).astype(np.float32)
        inputs[f"z{n}"] = rng.standard_normal((n, model.latent_dim)).astype(np.float32)
        calls.update({f"encode_{n}": ["encode", [f"x{n}"]], f"decode_{n}": ["decode", [f"z{n}"]],
                      f"sample_{n}": ["sample", [f"z{n}"]], f"reconstruct_{n}": ["reconstruct", [f"x{n}"]]})
    out = call_saved_model(tiny_run / "saved_model", inputs, calls, tmp_path)  # batch sizes 1, 3 and 7
    for n in (1, 3, 7):
        x, z = inputs[f"x{n}"], inputs[f"z{n}"]
        mean, log_var = model.encode(x)
        np.testing.assert_allclose(out[f"encode_{n}_0"], mean, atol=1e-5)
        np.testing.assert_allclose(out[f"encode_{n}_1"], log_var, atol=1e-5)
        np.testing.assert_allclose(out[f"decode_{n}"], model.decode(z), atol=1e-5)
        np.testing.assert_allclose(out[f"sample_{n}"], model.decode(z), atol=1e-5)
        np.testing.assert_allclose(out[f"reconstruct_{n}"], model.decode(mean), atol=1e-5)
    assert out["generate_5"].shape == (5, *model.image_shape)
    assert 0.0 <= out["generate_5"].min() and out["generate_5"].max() <= 1.0


def test_serving_signatures_have_named_outputs(tiny_run, tmp_path):
    """TF Serving and saved_model_cli see mean/log_var/images by name; the Python calls keep their results."""
    model = keras.models.load_model(tiny_run / "model.keras")
    rng = np.random.default_rng(1)
    x = rng.random((3, *model.image_shape)).astype(np.float32)
    z = rng.standard_normal((3, model.latent_dim)).astype(np.float32)
    calls = {"enc": ["signatures/encode", {"x": "x"}], "dec": ["signatures/decode", {"z": "z"}],
             "rec": ["signatures/reconstruct", {"x": "x"}], "smp": ["signatures/sample", {"z": "z"}],
             "gen": ["signatures/generate", {"n": "n"}],
             "default": ["signatures/serving_default", {"x": "x"}],
             "py": ["encode", ["x"]]}
    out = call_saved_model(tiny_run / "saved_model", {"x": x, "z": z, "n": np.int32(2)}, calls, tmp_path)
    mean, log_var = model.encode(x)
    assert sorted(k for k in out if k.startswith("enc_")) == ["enc_log_var", "enc_mean"]
    np.testing.assert_allclose(out["enc_mean"], mean, atol=1e-5)
    np.testing.assert_allclose(out["enc_log_var"], log_var, atol=1e-5)
    np.testing.assert_allclose(out["default_mean"], mean, atol=1e-5)  # serving_default is encode
    np.testing.assert_allclose(out["dec_images"], model.decode(z), atol=1e-5)
    np.testing.assert_allclose(out["smp_images"], model.decode(z), atol=1e-5)
    np.testing.assert_allclose(out["rec_images"], model.decode(mean), atol=1e-5)
    assert out["gen_images"].shape == (2, *model.image_shape)
    np.testing.assert_allclose(out["py_0"], mean, atol=1e-5)  # the Python call: [mean, log_var] as before
    np.testing.assert_allclose(out["py_1"], log_var, atol=1e-5)


def test_export_info_describes_the_model(tiny_run):
    info = json.loads((tiny_run / "saved_model" / "assets" / "vae_gan_tf.json").read_text())
    assert info["family"] == "VAE" and info["latent_dim"] == 4 and info["image_shape"] == [8, 8, 1]
    assert info["endpoints"] == ["complete", "decode", "encode", "generate", "reconstruct", "sample"]


def test_saved_model_cli_runs_the_readme_call(tiny_run, tmp_path):
    """The README's `saved_model_cli run` (TF1's loader, as TF Serving uses) finds the variables and prints
    the outputs by name."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    cli = (shutil.which("saved_model_cli", path=str(Path(sys.executable).parent))
           or shutil.which("saved_model_cli"))
    assert cli, "TensorFlow's saved_model_cli is not installed beside this Python"
    model = keras.models.load_model(tiny_run / "model.keras")
    x = np.random.default_rng(2).random((2, *model.image_shape)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run([cli, "run", "--dir", str(tiny_run / "saved_model"), "--tag_set", "serve",
                             "--signature_def", "encode", "--inputs", "x=x.npy"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Result for output key mean:" in result.stdout
    assert "Result for output key log_var:" in result.stdout
