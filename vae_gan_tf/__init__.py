"""vae_gan_tf: VAEs, GANs and their hybrids in Keras 3 / TensorFlow 2.

The package is laid out by stage (docs/layout.md): ``config`` -> ``data/`` -> ``nets/`` and ``models/``
-> ``training/`` -> ``runs/`` -> ``evaluation/``, ``uses/``, ``report/``; the seven commands at the top
import the library, never the reverse. Importing the package is cheap: TensorFlow is only imported by
the modules that need it, never by ``config``, the family configs, the catalog or the ``--help`` paths.
"""

__version__ = "0.2.0"
