"""The Slack front door: `/medic`, alert buttons, Socket Mode (see docs/slack.md).

A thin adapter: it parses what people type or click, calls the operations layer as
`slack:<user id>`, and renders the answer. The channel sender is medic.notify.slack.
"""
