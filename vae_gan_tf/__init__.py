"""vae_gan_tf: VAEs, GANs and their hybrids in Keras 3 / TensorFlow 2.

Importing the package is cheap: TensorFlow is only imported by the modules that need it
(``losses``, ``models``, ``nets``, ``data.pipeline``, ``export`` ...), never by ``config`` or
by the command-line ``--help`` paths.
"""

__version__ = "0.1.0"
