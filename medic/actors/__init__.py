"""Dramatiq actors: notify, deliver webhooks, run playbook steps, clean up."""
