"""Notifications: channels (webhook, Slack, e-mail, Alertmanager), the outbox and its dispatcher."""
