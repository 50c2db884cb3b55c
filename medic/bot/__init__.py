"""Slack bot (slack-bolt): the /medic command and interactive alert buttons."""
