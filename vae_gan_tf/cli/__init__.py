"""What the seven commands share and the library does not need (no TensorFlow import): their common
arguments and checks (``arguments``) and the quiet TensorFlow import (``tensorflow_import``)."""
