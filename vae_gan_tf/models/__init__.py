"""Model families, one file each; ``registry.build_model`` maps a config to its class."""
