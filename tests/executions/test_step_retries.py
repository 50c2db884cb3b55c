"""Steps run at least once, and a receiver can tell: a webhook step sends an
`Idempotency-Key` that is the same when the step runs again after a crash (the worker
died after sending, before recording), and differs for another step or execution; a
script gets the same key as MEDIC_IDEMPOTENCY_KEY."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from medic.playbooks import engine
from medic.process import MedicProcess
from tests.fakes.receiver import Receiver
from tests.playbook_runs import Runner
from tests.support import Clock

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
PLAYBOOK = """
name: pay-invoice
approval: none
steps:
  - name: charge
    type: webhook
    url: "{url}/charge"
    timeout: 10s
  - name: receipt
    type: webhook
    url: "{url}/receipt"
    headers:
      Idempotency-Key: "receipt-${{EXECUTION_ID}}"
  - name: note
    type: script
    script: key.sh
"""


@pytest.fixture
def settings_overrides(shared_tmp_path: Path) -> dict[str, Any]:
    scripts = shared_tmp_path / "scripts"
    scripts.mkdir(mode=0o755)
    (scripts / "key.sh").write_text('#!/bin/sh\necho "key=$MEDIC_IDEMPOTENCY_KEY"\n')
    (scripts / "key.sh").chmod(0o755)
    return {"medic_allowed_webhook_hosts": "127.0.0.1", "medic_scripts_dir": scripts}


class Crash(BaseException):
    """The worker dies: after the step's request went out, before its outcome is written."""


def test_a_step_rerun_after_a_crash_sends_the_same_idempotency_key(
    medic: MedicProcess,
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    webhook_receiver: Receiver,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register("billing")
    apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    execution_id = execute("pay-invoice", service="billing")["results"]["execution_id"]

    def crash(*_: object) -> None:
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(engine, "_record", crash)
        with pytest.raises(Crash):
            engine.advance(medic.db, medic.settings, execution_id)
    [first] = webhook_receiver.requests
    assert Runner(medic).run(execution_id).state == "running", "the lease has not run out"

    clock.advance(seconds=10 + 61)  # the step's timeout, then the lease's margin
    after_restart = Runner(medic)
    assert after_restart.run(execution_id).state == "completed"

    charge, retried, receipt = webhook_receiver.requests
    assert charge is first and retried.path == "/charge" and receipt.path == "/receipt"
    key = charge.headers["idempotency-key"]
    assert UUID.match(key) and retried.headers["idempotency-key"] == key
    assert receipt.headers["idempotency-key"] == f"receipt-{execution_id}", "the step's own wins"
    steps = after_restart.steps(execution_id)
    assert [s.attempts for s in steps] == [2, 1, 1]
    script_key = (steps[2].output or "").strip().removeprefix("key=")
    assert UUID.match(script_key) and script_key != key

    again = execute("pay-invoice", service="billing")["results"]["execution_id"]
    after_restart.run(again)
    other = webhook_receiver.requests[3]
    assert other.path == "/charge" and other.headers["idempotency-key"] != key
