"""Fixtures for the network guard's tests."""

from tests.fakes.receiver import webhook_receiver  # noqa: F401
