"""Stage 2, the models: one folder per group of families (``vae/``, ``gan/``), each family one module
(its model class and its SavedModel endpoints) plus its config dataclass in the folder's ``configs``;
``catalog`` (no TensorFlow import) maps ``model.name`` to both. ``base``, ``losses``, ``optimizers`` and
``completion`` are what the families share."""
