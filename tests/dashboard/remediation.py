"""What the remediation page tests share: a playbook that asks for approval and a
hostile text to show."""

from __future__ import annotations

PLAYBOOK = """name: restart-worker
description: Restart the worker when it stops
approval: required
steps:
  - name: restart
    type: webhook
    url: "{url}/restart"
"""
HOSTILE = "<script>alert(1)</script>"
