"""Playbook definitions (SRE-18). SEED_EXAMPLE is seed 003's `restart-worker`, verbatim."""

SEED_EXAMPLE = """\
name: restart-worker
description: Restart the worker service and verify recovery
trigger:
  service_pattern: "worker-*"
  consecutive_failures: 3
approval: none
steps:
  - name: restart-service
    type: webhook
    url: "https://internal-api/restart"
    method: POST
    body:
      service: "${SERVICE_NAME}"
  - name: wait-for-recovery
    type: wait
    duration: 30s
  - name: verify-heartbeat
    type: condition
    check: heartbeat_received
    timeout: 60s
    on_failure: escalate
"""
