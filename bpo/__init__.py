"""The `bpo` command."""
