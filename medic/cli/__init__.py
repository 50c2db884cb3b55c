"""The `medic` command line."""
