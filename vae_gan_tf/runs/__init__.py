"""Stage 4, the run folder: its contract (file names, marker, lock, atomic writes: ``folder``), the
SavedModel writer (``export``) and the SavedModel reader with the one sampling loop (``saved_model``).
This ``__init__`` imports nothing, so ``runs.folder`` stays free of TensorFlow."""
