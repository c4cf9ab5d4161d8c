"""The one base class of every refusal phrased for a human (config, rules, program, queue, CLI)."""


class GatewayError(Exception):
    """A problem the operator or moderator can fix; its text is shown as is (one line, no traceback)."""
