"""Block Kit messages: built once, posted by the Slack sender and edited by the bot."""
