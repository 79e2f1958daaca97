"""The documents' formulas as exact float64 references (``formulas``) and the rows of ``verify`` that
check the library against them (``checks``)."""
