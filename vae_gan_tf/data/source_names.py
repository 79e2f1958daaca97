"""The data sources by name, and what kind of data each gives (no import beyond the standard library):
``config.py`` checks a config against these before any data is loaded."""

# Native (height, width, channels) of the named image sources, so that shape errors are caught before
# any data is loaded. Sources with a path (idx:, npz:, folder:) are checked after loading.
NATIVE_SHAPES = {
    "mnist5k": (28, 28, 1),
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
    "digits": (8, 8, 1),
}
# Point sources for mode-collapse studies (data/toy2d.py): samples are 2-D points, not images.
TOY_SOURCES = ("ring8", "grid25")
# Variable-length sequence sources (data/sines.py): (N, T, F) with a step mask, values not rescaled.
SEQUENCE_SOURCES = ("sines",)
PATH_SOURCES = ("idx:", "npz:", "folder:")
