"""Playbook step runners: what the execution engine calls to run one step.

Pure or I/O-only functions with no database and no Dramatiq: the engine loads the
pinned definition, reveals the secrets it references, persists state, and calls
`run_webhook_step` / `run_script_step` with a `StepContext`; each returns a
`StepResult` and never raises for a remote or script failure.
"""
