"""Stage 7, reports: the comparison report of ``compare`` (``comparison``) and its uses section
(``uses_section``), the matplotlib pictures (``plotting``) and the notebooks' set-up (``notebook``)."""
