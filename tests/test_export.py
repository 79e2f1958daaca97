"""The SavedModel loads in a Python process that never imports vae_gan_tf, and matches the model."""

import json

import keras
import numpy as np

from conftest import call_saved_model


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


def test_export_info_describes_the_model(tiny_run):
    info = json.loads((tiny_run / "saved_model" / "assets" / "vae_gan_tf.json").read_text())
    assert info["family"] == "VAE" and info["latent_dim"] == 4 and info["image_shape"] == [8, 8, 1]
    assert info["endpoints"] == ["complete", "decode", "encode", "generate", "reconstruct", "sample"]
