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
    "dsprites_like": (64, 64, 1),  # rendered at data.image_size 32 or 64 (data/dsprites.py)
}
# Point sources for mode-collapse studies (data/toy2d.py): samples are 2-D points, not images.
TOY_SOURCES = ("ring8", "grid25")
# Variable-length sequence sources (data/sines.py): (N, T, F) with a step mask, values not rescaled.
SEQUENCE_SOURCES = ("sines",)
PATH_SOURCES = ("idx:", "npz:", "folder:", "dsprites:")
# Sources whose images come with their factors of variation (data/dsprites.py): the disentanglement metrics.
FACTOR_SOURCES = ("dsprites_like",)
FACTOR_PREFIXES = ("dsprites:",)


def has_factors(source: str) -> bool:
    """Whether the images of ``source`` come with known factors of variation."""
    return source in FACTOR_SOURCES or source.startswith(FACTOR_PREFIXES)
