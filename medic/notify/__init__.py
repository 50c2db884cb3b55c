"""Channel senders: Slack, PagerDuty, webhooks."""
