"""The SavedModel loads in a Python process that never imports vae_gan_tf, and matches the model."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np

CHILD = textwrap.dedent("""
    import importlib.abc, json, sys

    class Block(importlib.abc.MetaPathFinder):  # prove the package is not needed
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "vae_gan_tf":
                raise ImportError("vae_gan_tf must not be imported here")

    sys.meta_path.insert(0, Block())
    import numpy as np
    import tensorflow as tf

    saved_model, inputs, outputs = sys.argv[1:4]
    m = tf.saved_model.load(saved_model)  # keep a reference (KERAS3_FACTS.md, export)
    data = np.load(inputs)
    result = {}
    for n in (1, 3, 7):
        x, z = tf.constant(data["x"][:n]), tf.constant(data["z"][:n])
        mean, log_var = m.encode(x)
        result[f"mean_{n}"], result[f"log_var_{n}"] = mean.numpy(), log_var.numpy()
        result[f"decode_{n}"] = m.decode(z).numpy()
        result[f"sample_{n}"] = m.sample(z).numpy()
        result[f"reconstruct_{n}"] = m.reconstruct(x).numpy()
    result["generate_5"] = m.generate(tf.constant(5)).numpy()
    np.savez(outputs, **result)
    print(json.dumps({"imported": sorted(k for k in sys.modules if k.startswith("vae_gan_tf"))}))
""")


def test_saved_model_endpoints_without_the_package(tiny_run, tmp_path):
    model = keras.models.load_model(tiny_run / "model.keras")
    rng = np.random.default_rng(0)
    x = rng.random((7, *model.image_shape)).astype(np.float32)
    z = rng.standard_normal((7, model.latent_dim)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x, z=z)
    (tmp_path / "child.py").write_text(CHILD)
    result = subprocess.run([sys.executable, str(tmp_path / "child.py"), str(tiny_run / "saved_model"),
                             str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"imported": []}
    out = np.load(tmp_path / "out.npz")
    for n in (1, 3, 7):
        mean, log_var = model.encode(x[:n])
        np.testing.assert_allclose(out[f"mean_{n}"], mean, atol=1e-5)
        np.testing.assert_allclose(out[f"log_var_{n}"], log_var, atol=1e-5)
        np.testing.assert_allclose(out[f"decode_{n}"], model.decode(z[:n]), atol=1e-5)
        np.testing.assert_allclose(out[f"sample_{n}"], model.decode(z[:n]), atol=1e-5)
        np.testing.assert_allclose(out[f"reconstruct_{n}"], model.decode(mean), atol=1e-5)
    assert out["generate_5"].shape == (5, *model.image_shape)
    assert 0.0 <= out["generate_5"].min() and out["generate_5"].max() <= 1.0


def test_export_info_describes_the_model(tiny_run):
    info = json.loads((tiny_run / "saved_model" / "assets" / "vae_gan_tf.json").read_text())
    assert info["family"] == "VAE" and info["latent_dim"] == 4 and info["image_shape"] == [8, 8, 1]
    assert info["endpoints"] == ["decode", "encode", "generate", "reconstruct", "sample"]
