"""Evaluation metrics. All but `likelihood` work on NumPy arrays of samples or features and import no TensorFlow."""
