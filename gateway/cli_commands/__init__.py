"""The sub-commands of `mentor-gateway`, one module per room they serve."""

from gateway.cli_commands import moderation, program, reminders, retention, serve, staff  # noqa: F401
