"""Sample-quality and likelihood metrics, each a pure function of arrays with its formula in the
docstring."""
