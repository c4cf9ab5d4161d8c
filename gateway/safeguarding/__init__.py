"""Safeguarding, the pure parts: is this mail a report, which of our ids it names, the report footer."""
