"""The `mentor-gateway` command: parse arguments, call a service, print (JSON where scripts need it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from gateway.cli_commands.base import Command, registrars
from gateway.config import ConfigError, default_config_path
from gateway.errors import GatewayError
from gateway.startup_checks import load_checked_settings


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr and exit code 2, like every other refusal here."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from gateway import cli_commands  # noqa: F401  (registers the commands)

    # Sub-parsers inherit the parser's class, so every sub-command answers in one line too.
    parser = OneLineParser(prog="mentor-gateway", description=__doc__)
    parser.add_argument("-c", "--config", type=Path, default=None,
                        help="config file (default: $GATEWAY_CONFIG, else ./config.toml)")
    sub = parser.add_subparsers(dest="command", required=True)
    for registrar in registrars:
        registrar(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.config is not None and not args.config.is_file():
            # A mistyped -c would otherwise run on the defaults, with an empty database.
            raise ConfigError(f"{args.config}: no such config file")
        settings = load_checked_settings(args.config or default_config_path())
        handler: Command = args.handler
        return handler(args, settings)
    except GatewayError as exc:  # config, rules, program, queue, CLI: a human message
        print(f"mentor-gateway: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
