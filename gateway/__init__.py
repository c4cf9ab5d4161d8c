"""Mentor Gateway: email-first gateway for e-mentoring programs."""
