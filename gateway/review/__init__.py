"""The review workflow: the held-message queue, moderation by e-mail, escalation and moderators' notices."""
