"""Stage 3, training: ``fit`` (config -> data -> model -> fit -> run folder), the callbacks, the per-epoch
evaluation, the ``tf.distribute`` strategy and the cluster checks. This ``__init__`` imports nothing, so
``training.cluster`` stays free of TensorFlow."""
