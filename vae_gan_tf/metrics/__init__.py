"""Evaluation metrics on arrays of samples (NumPy; no TensorFlow import)."""
