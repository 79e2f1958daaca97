"""Call a SavedModel's endpoints in a process that cannot import vae_gan_tf (plain TensorFlow only).

    python saved_model_calls.py SAVED_MODEL INPUTS.npz OUTPUTS.npz 'CALLS_JSON'

CALLS_JSON maps an output name to [endpoint, [input names in INPUTS.npz]]; each endpoint's outputs are saved
under that name (a tuple of outputs as name_0, name_1, ...; named outputs as name_key). An endpoint
"signatures/NAME" calls the serving signature NAME instead, as TF Serving does: with keyword inputs,
{signature input: name in INPUTS.npz}, and its named outputs. Prints the vae_gan_tf modules imported (none).
"""

import importlib.abc
import json
import sys


class Block(importlib.abc.MetaPathFinder):  # prove the package is not needed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "vae_gan_tf":
            raise ImportError("vae_gan_tf must not be imported here")


sys.meta_path.insert(0, Block())
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

saved_model, inputs, outputs, calls = sys.argv[1:5]
loaded = tf.saved_model.load(saved_model)  # keep a reference (KERAS3_FACTS.md, export)
data = np.load(inputs)
result = {}
for name, (endpoint, args) in json.loads(calls).items():
    if endpoint.startswith("signatures/"):
        signature = loaded.signatures[endpoint.split("/", 1)[1]]
        out = signature(**{k: tf.constant(data[a]) for k, a in args.items()})
    else:
        out = getattr(loaded, endpoint)(*[tf.constant(data[a]) for a in args])
    if isinstance(out, dict):
        result.update({f"{name}_{key}": o.numpy() for key, o in out.items()})
    elif isinstance(out, (list, tuple)):
        result.update({f"{name}_{i}": o.numpy() for i, o in enumerate(out)})
    else:
        result[name] = out.numpy()
np.savez(outputs, **result)
print(json.dumps({"imported": sorted(k for k in sys.modules if k.startswith("vae_gan_tf"))}))
