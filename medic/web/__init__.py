"""What every HTTP door shares (API, Slack events, MCP, dashboard): the JSON envelope,
the presented key and who it is, rate limits, and the one ASGI middleware."""
