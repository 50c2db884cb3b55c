"""Executions on real Dramatiq workers: the scheduler hands a new execution to a
worker at once, a wait comes back as a delayed message, and it completes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from medic.background_work import BackgroundWork
from medic.process import MedicProcess
from tests.fakes.receiver import Receiver
from tests.playbook_runs import Runner

PLAYBOOK = """
name: poke
approval: none
steps:
  - name: poke-it
    type: webhook
    url: "{url}/poke"
  - name: settle
    type: wait
    duration: 1s
"""


def test_an_execution_runs_to_completion_on_the_workers(
    medic: MedicProcess,
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    register("worker-1")
    apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    background = BackgroundWork(
        medic.settings, medic.db, broker_namespace=f"medic-test-{uuid.uuid4().hex[:8]}"
    )
    background.start()
    try:
        execution_id = execute("poke", service="worker-1")["results"]["execution_id"]
        deadline = time.monotonic() + 15
        while runner.execution(execution_id).state != "completed":
            assert time.monotonic() < deadline, runner.execution(execution_id)
            time.sleep(0.05)
    finally:
        background.stop()
    assert len(webhook_receiver.requests) == 1
    steps = runner.steps(execution_id)
    assert [s.state for s in steps] == ["succeeded", "succeeded"]
    assert steps[1].finished_at is not None and steps[1].started_at is not None
    assert (steps[1].finished_at - steps[1].started_at).total_seconds() >= 0.9
