"""Image sources (``sources``, NumPy only) and their ``tf.data`` pipelines (``pipeline``)."""
