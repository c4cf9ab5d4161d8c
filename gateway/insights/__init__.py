"""Program figures: what coordinators and funders read (activity, answers, moderation, reminders)."""
