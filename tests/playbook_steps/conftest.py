"""Fixtures for the playbook step runners' tests."""

from tests.fakes.receiver import webhook_receiver  # noqa: F401
