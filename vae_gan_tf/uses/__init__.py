"""Stage 6, the uses of doc 002 §1.5 and doc 004 §5: completion and denoising through a run's SavedModel
(``restorer``), and the masks, noise and scores they use (``masks_and_noise``)."""
