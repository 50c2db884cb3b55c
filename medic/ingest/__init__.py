"""Heartbeat ingest: the group-commit writer and the batches it writes (one module per
database), including the job runs a batch opens and closes."""
