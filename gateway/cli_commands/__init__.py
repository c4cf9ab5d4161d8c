"""The sub-commands of `mentor-gateway`, one module per room they serve."""

from gateway.cli_commands import (  # noqa: F401
    backup,
    imports,
    matching,
    moderation,
    program,
    reminders,
    report,
    retention,
    safety_reports,
    serve,
    staff,
)
