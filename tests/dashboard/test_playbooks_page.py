"""The playbooks pages: the list, the YAML editor that shows every problem at its line
and saves nothing until the definition is valid, the warnings of an apply (a secret
not set, a script not registered), versions with an escaped diff, restoring an old
version, enable / disable; all as front door `dashboard`, admin only."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from medic.models import Playbook
from medic.process import MedicProcess
from tests.dashboard.conftest import Browser, audit_entries
from tests.dashboard.remediation import HOSTILE

GOOD = """name: restart-worker
approval: required
steps:
  - name: restart
    type: webhook
    url: https://heal.example/restart
"""
BROKEN = """name: restart-worker
approval: sometimes
steps:
  - name: restart
    type: webhook
"""
WITH_SECRET = """name: restart-worker
approval: required
steps:
  - name: restart
    type: webhook
    url: https://heal.example/restart
    headers:
      Authorization: "Bearer ${secrets.HEAL_TOKEN}"
"""


def _playbook(medic: MedicProcess) -> Playbook | None:
    with medic.db.session() as session:
        return session.exec(select(Playbook).where(Playbook.name == "restart-worker")).first()


def test_an_admin_writes_a_playbook_and_sees_each_problem_at_its_line_first(
    signed_in: Callable[..., Browser], medic: MedicProcess
) -> None:
    browser = signed_in("admin", name="author")
    editor = browser.get("/dashboard/new-playbook")
    assert editor.status_code == 200 and '<label for="f-source-yaml">YAML</label>' in editor.text

    refused = browser.post("/dashboard/playbooks/apply", {"source_yaml": BROKEN, "intent": "save"})
    assert refused.status_code == 400 and "Not saved" in refused.text
    assert '<a href="#line-2">Line 2</a>: <code>approval</code>' in refused.text
    assert '<li id="line-2" class="bad">' in refused.text  # marked in the listing too
    assert 'href="#line-4">Line 4</a>' in refused.text  # the step without its url
    (kept,) = re.findall(r"<textarea[^>]*>(.*?)</textarea>", refused.text, re.DOTALL)
    assert kept == BROKEN  # what was typed stays in the editor
    assert _playbook(medic) is None

    checked = browser.post("/dashboard/playbooks/apply", {"source_yaml": GOOD, "intent": "check"})
    assert checked.status_code == 200 and "No problem found" in checked.text
    assert _playbook(medic) is None

    saved = browser.post("/dashboard/playbooks/apply", {"source_yaml": GOOD, "intent": "save"})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/dashboard/playbooks/restart-worker"
    page = browser.get("/dashboard/playbooks/restart-worker")
    assert "Created restart-worker (version 1)." in page.text
    (entry,) = audit_entries(medic, "playbook.create")
    assert (entry.actor, entry.front_door) == ("author", "dashboard")
    listing = browser.get("/dashboard/playbooks")
    assert 'href="/dashboard/playbooks/restart-worker"' in listing.text


def test_an_apply_shows_what_this_medic_lacks(signed_in: Callable[..., Browser]) -> None:
    browser = signed_in("admin")
    saved = browser.post(
        "/dashboard/playbooks/apply", {"source_yaml": WITH_SECRET, "intent": "save"}
    )
    assert saved.status_code == 200 and "Created restart-worker" in saved.text
    assert "Warnings" in saved.text and "HEAL_TOKEN" in saved.text and "line 8" in saved.text


def test_versions_show_an_escaped_diff_and_an_old_one_is_restored(
    signed_in: Callable[..., Browser],
    medic: MedicProcess,
    apply_playbook: Callable[[str], dict[str, Any]],
) -> None:
    apply_playbook(GOOD)
    apply_playbook(
        GOOD.replace("approval: required", f"description: '{HOSTILE}'\napproval: required")
    )
    browser = signed_in("admin", name="author")
    page = browser.get("/dashboard/playbooks/restart-worker/versions/2")
    assert page.status_code == 200
    assert '<span class="diff-add">+description: &#39;&lt;script&gt;' in page.text
    assert HOSTILE not in page.text
    assert "Restore version 2" not in page.text  # it is the current one

    old = browser.get("/dashboard/playbooks/restart-worker/versions/1")
    assert "Restore version 1" in old.text
    restored = browser.post("/dashboard/playbooks/restart-worker/versions/1/restore")
    assert restored.status_code == 303
    playbook = _playbook(medic)
    assert playbook is not None and playbook.current_version == 3
    (entry,) = audit_entries(medic, "playbook.update")[-1:]
    assert (entry.actor, entry.front_door, entry.details["version"]) == ("author", "dashboard", 3)
    assert browser.get("/dashboard/playbooks/restart-worker/versions/9").status_code == 404


def test_disable_and_enable_are_audited(
    signed_in: Callable[..., Browser],
    medic: MedicProcess,
    apply_playbook: Callable[[str], dict[str, Any]],
) -> None:
    apply_playbook(GOOD)
    browser = signed_in("admin", name="author")
    assert browser.post("/dashboard/playbooks/restart-worker/disable").status_code == 303
    assert _playbook(medic).enabled is False  # type: ignore[union-attr]
    page = browser.get("/dashboard/playbooks/restart-worker")
    assert "state-disabled" in page.text and ">Enable</button>" in page.text
    assert browser.post("/dashboard/playbooks/restart-worker/enable").status_code == 303
    assert _playbook(medic).enabled is True  # type: ignore[union-attr]
    assert [e.actor for e in audit_entries(medic, "playbook.disable")] == ["author"]
    assert [e.actor for e in audit_entries(medic, "playbook.enable")] == ["author"]


def test_a_writer_sees_no_editor_and_is_refused_and_audited(
    signed_in: Callable[..., Browser],
    medic: MedicProcess,
    apply_playbook: Callable[[str], dict[str, Any]],
) -> None:
    apply_playbook(GOOD)
    browser = signed_in("write", name="operator")
    page = browser.get("/dashboard/playbooks/restart-worker")
    assert page.status_code == 200 and "<textarea" not in page.text
    assert "Disable</button>" not in page.text and "restart" in page.text
    assert "New playbook" not in browser.get("/dashboard/playbooks").text
    changed = GOOD.replace("required", "none")
    refused = browser.post("/dashboard/playbooks/apply", {"source_yaml": changed})
    assert refused.status_code == 403
    assert browser.post("/dashboard/playbooks/restart-worker/disable").status_code == 403
    assert browser.post("/dashboard/playbooks/restart-worker/versions/1/restore").status_code == 403
    assert _playbook(medic).enabled and _playbook(medic).current_version == 1  # type: ignore[union-attr]
    applies = audit_entries(medic, "playbook.apply")  # the edit, then the restore
    assert [(e.actor, e.outcome) for e in applies] == [("operator", "refused")] * 2
    assert [e.actor for e in audit_entries(medic, "playbook.disable")] == ["operator"]
    forged = browser.post("/dashboard/playbooks/restart-worker/disable", csrf="forged")
    assert forged.status_code == 403


def test_the_editor_starts_from_a_valid_example(signed_in: Callable[..., Browser]) -> None:
    browser = signed_in("admin")
    editor = browser.get("/dashboard/new-playbook")
    (example,) = re.findall(r"<textarea[^>]*>\n?(.*?)</textarea>", editor.text, re.DOTALL)
    checked = browser.post(
        "/dashboard/playbooks/apply", {"source_yaml": html.unescape(example), "intent": "check"}
    )
    assert checked.status_code == 200 and "No problem found" in checked.text
