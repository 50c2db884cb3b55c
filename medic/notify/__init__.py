"""Channel senders: Slack, PagerDuty, webhooks, email, Discord, SMS (Twilio), Microsoft
Teams, Opsgenie, Telegram, ntfy, Google Chat, Mattermost (docs/channels.md)."""
