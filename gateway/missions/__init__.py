"""Missions (conversation prompts sent to pairs on a schedule) and badges (milestones of activity)."""
