"""Run one `script` step: a script the admin registered, never code from a definition.

A script is registered by putting an executable regular file in `MEDIC_SCRIPTS_DIR`.
A step names it by its plain file name (`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`, no path
separators); the name must resolve inside that directory (a symlink pointing out of
it is refused). It runs:

* with its arguments substituted and passed as argv, never through a shell. Variables
  fill values, never options: Medic puts `--` before the first argument that starts
  with a variable (after any dashes: `${X}`, `-${X}`), so from there on every argument
  is an operand whatever its value (a service named `-rf` arrives as the operand
  `-rf`). Options go first, or take their value in the same argument
  (`--service=${SERVICE_NAME}`);
* in a clean environment: `PATH`, `LANG`, and `MEDIC_SERVICE_NAME`,
  `MEDIC_HEARTBEAT_NAME`, `MEDIC_ALERT_ID`, `MEDIC_EXECUTION_ID`, and
  `MEDIC_IDEMPOTENCY_KEY`, the same on every run of this step of this execution: a
  step runs at least once, so a script must be idempotent, and a re-run after a crash
  can recognise itself by this key (secrets reach a script only where its arguments
  reference them);
* when Medic runs as root, as `MEDIC_SCRIPT_USER` (default `nobody`, its own group, no
  supplementary groups), so it can read neither Medic's memory and `/proc/<pid>/environ`
  nor files only root may read, and the process limit applies (root ignores it);
  otherwise as Medic's own user, which cannot read Medic's memory or environment either
  (Medic is not dumpable: medic.hardening);
* in a fresh temporary working directory, removed afterwards;
* in its own session (process group) with resource limits: CPU time (the timeout
  plus a second), address space (`MEDIC_SCRIPT_MEMORY_MB`), processes, file size,
  no core dumps;
* with a wall-clock limit of the step's timeout, after which the whole process group
  is killed. When the script exits, whatever it left running in its group is killed.

Stdout and stderr are merged and read as they come; the first
`MEDIC_SCRIPT_OUTPUT_BYTES` are kept (secrets redacted), the rest is counted and
dropped. Exit status 0 is success.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import resource
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from medic.config import Settings
from medic.core.playbook_definition import ScriptStep
from medic.playbooks.context import StepContext, StepResult
from medic.playbooks.substitute import (
    SubstitutionError,
    redact,
    redact_truncated,
    starts_with_variable,
    substitute,
)

SCRIPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
PATH = "/usr/local/bin:/usr/bin:/bin"
MAX_PROCESSES = 256
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_OPEN_FILES = 256
# After the script exits, how long output still in the pipe is read.
DRAIN_SECONDS = 0.5
_CHUNK = 65536


def script_path(settings: Settings, name: str) -> Path | None:
    """The resolved path of the registered script `name`, or None when there is none."""
    directory = settings.medic_scripts_dir
    if directory is None or not SCRIPT_NAME.fullmatch(name):
        return None
    try:
        root = directory.resolve(strict=True)
        path = (root / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or path == root:
        return None
    if not path.is_file() or not os.access(path, os.X_OK):
        return None
    return path


def registered_scripts(settings: Settings) -> list[str]:
    """The names a script step may use, sorted."""
    directory = settings.medic_scripts_dir
    if directory is None:
        return []
    try:
        names = [entry.name for entry in os.scandir(directory)]
    except OSError:
        return []
    return sorted(name for name in names if script_path(settings, name) is not None)


def run_script_step(step: ScriptStep, context: StepContext, settings: Settings) -> StepResult:
    """Run the script once and report how it ended; never raises for the script's
    failure. `status_code` is the exit status (None when it was killed or never ran)."""
    secrets = context.secrets
    label = f"script {step.script!r}"
    path = script_path(settings, step.script)
    if path is None:
        return StepResult(False, f"{label} is not registered (MEDIC_SCRIPTS_DIR)")
    try:
        args = script_arguments(step.args, context)
    except SubstitutionError as exc:
        return StepResult(False, f"{label}: {exc}")
    try:
        user = script_user(settings)
    except ScriptUserError as exc:
        return StepResult(False, f"{label} cannot run: {exc}")

    env = {
        "PATH": PATH,
        "LANG": "C.UTF-8",
        "MEDIC_SERVICE_NAME": context.service_name or "",
        "MEDIC_HEARTBEAT_NAME": context.heartbeat_name or "",
        "MEDIC_ALERT_ID": "" if context.alert_id is None else str(context.alert_id),
        "MEDIC_EXECUTION_ID": str(context.execution_id),
    }
    if context.idempotency_key:
        env["MEDIC_IDEMPOTENCY_KEY"] = context.idempotency_key
    limits = _limits(step.timeout_seconds, settings.medic_script_memory_mb)
    cap = settings.medic_script_output_bytes
    with tempfile.TemporaryDirectory(prefix="medic-script-", ignore_cleanup_errors=True) as cwd:
        as_user: dict[str, object] = {}
        if user is not None:
            os.chown(cwd, user.uid, user.gid)
            as_user = {"user": user.uid, "group": user.gid, "extra_groups": []}
        try:
            process = subprocess.Popen(
                [str(path), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                close_fds=True,
                start_new_session=True,
                # Runs in the child after it became `user`: the limits bind that user.
                preexec_fn=_apply_limits(limits),
                **as_user,  # type: ignore[arg-type]
            )
        except OSError as exc:
            hint = ""
            if user is not None and isinstance(exc, PermissionError):
                hint = f" (the script must be readable and executable by user {user.name})"
            return StepResult(False, redact(f"{label} could not start: {exc}{hint}", secrets))
        output, total, timed_out = _supervise(process, step.timeout_seconds, cap)

    truncated = total > len(output)
    text = output.decode("utf-8", errors="replace")
    text = redact_truncated(text, secrets) if truncated else redact(text, secrets)
    if truncated:
        text += f"\n[output truncated: {total} bytes, the first {len(output)} kept]"
    code = process.returncode
    if timed_out:
        return StepResult(False, f"{label} timed out after {step.timeout_seconds}s", None, text)
    if code < 0:
        return StepResult(False, f"{label} was killed by {_signal_name(-code)}", None, text)
    if code != 0:
        return StepResult(False, f"{label} failed with exit status {code}", code, text)
    return StepResult(True, f"{label} succeeded", 0, text)


def script_arguments(templates: tuple[str, ...] | list[str], context: StepContext) -> list[str]:
    """The arguments, substituted, with `--` before the first one that starts with a
    variable: a value can never be read as an option. Where `--` goes depends on the
    definition only, never on a value."""
    arguments: list[str] = []
    operands = False  # past a `--` (Medic's, or one the definition wrote itself)
    for template in templates:
        if not operands and starts_with_variable(template):
            arguments.append("--")
            operands = True
        operands = operands or template == "--"
        arguments.append(str(substitute(template, context)))
    return arguments


class ScriptUserError(Exception):
    """MEDIC_SCRIPT_USER names no user, or names root."""


@dataclass(frozen=True)
class ScriptUser:
    name: str
    uid: int
    gid: int


def script_user(settings: Settings) -> ScriptUser | None:
    """Whom a script runs as: MEDIC_SCRIPT_USER when Medic runs as root, else None
    (Medic's own user, already unprivileged)."""
    if os.geteuid() != 0:
        return None
    wanted = settings.medic_script_user
    if re.fullmatch(r"\d+:\d+", wanted):
        uid, gid = (int(part) for part in wanted.split(":"))
        user = ScriptUser(wanted, uid, gid)
    else:
        try:
            entry = pwd.getpwuid(int(wanted)) if wanted.isdigit() else pwd.getpwnam(wanted)
        except (KeyError, OverflowError):
            raise ScriptUserError(f"MEDIC_SCRIPT_USER {wanted!r} is not a user here") from None
        user = ScriptUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    if user.uid == 0:
        raise ScriptUserError("MEDIC_SCRIPT_USER must be an unprivileged user, not root")
    return user


Limits = list[tuple[int, tuple[int, int]]]


def _limits(timeout_seconds: int, memory_mb: int) -> Limits:
    """(resource, (soft, hard)) pairs, computed here in the parent so the child does
    nothing but call setrlimit. A limit never goes above the current hard limit."""
    wanted = [
        (resource.RLIMIT_CPU, timeout_seconds + 1, timeout_seconds + 2),
        (resource.RLIMIT_AS, memory_mb * 1024 * 1024, memory_mb * 1024 * 1024),
        (resource.RLIMIT_NPROC, MAX_PROCESSES, MAX_PROCESSES),
        (resource.RLIMIT_FSIZE, MAX_FILE_BYTES, MAX_FILE_BYTES),
        (resource.RLIMIT_NOFILE, MAX_OPEN_FILES, MAX_OPEN_FILES),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    limits: Limits = []
    for kind, soft, hard in wanted:
        _, current_hard = resource.getrlimit(kind)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        limits.append((kind, (soft, hard)))
    return limits


def _apply_limits(limits: Limits) -> Callable[[], None]:
    setrlimit = resource.setrlimit

    def apply() -> None:  # runs in the child between fork and exec: keep it minimal
        for kind, pair in limits:
            setrlimit(kind, pair)

    return apply


def _supervise(
    process: subprocess.Popen[bytes], timeout_seconds: int, cap: int
) -> tuple[bytes, int, bool]:
    """Read the merged output until the script ends or the time is up, then kill its
    process group and reap it. Returns (kept output, total bytes, timed out)."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_seconds
    kept = bytearray()
    total = 0
    timed_out = False
    exited_at: float | None = None
    fd = process.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if exited_at is None and _has_exited(process.pid):
                exited_at = now
            if exited_at is not None and now - exited_at > DRAIN_SECONDS:
                break  # something it left behind still holds the pipe open
            if exited_at is None and now >= deadline:
                timed_out = True
                break
            wait = min(0.1, max(deadline - now, 0))
            if not selector.select(wait):
                continue
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                if exited_at is None:
                    timed_out = not _wait_for_exit(process.pid, deadline)
                break
            total += len(chunk)
            if len(kept) < cap:
                kept += chunk[: cap - len(kept)]
    # The leader is not reaped yet, so the group id cannot have been reused.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    return bytes(kept), total, timed_out


def _has_exited(pid: int) -> bool:
    """Whether `pid` has exited, without reaping it (so its group id stays taken)."""
    try:
        status = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return status is not None


def _wait_for_exit(pid: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if _has_exited(pid):
            return True
        time.sleep(0.02)
    return _has_exited(pid)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
