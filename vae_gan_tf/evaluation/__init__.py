"""Stage 5, evaluation: the metrics as pure functions of arrays (``metrics/``), the feature extractors
(``features``, ``fid_inception``), the metrics of a run (``run_metrics``), the conditional runs' CAS and
augmentation scores (``conditional_scores``) and known degradations of real images (``degradations``)."""
