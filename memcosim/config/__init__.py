"""Configuration: the one vocabulary of settings (validated dataclasses with units) and the one TOML loader."""
