"""Issue 14: each test is an attack that must fail."""

# A playbook that always waits for a human (the attacks try to get around that).
GUARDED = """
name: restart-worker
description: Restart the worker, once a human agreed
approval: required
steps:
  - name: settle
    type: wait
    duration: 1s
"""
