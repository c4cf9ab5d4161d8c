"""`python -m gateway` is the `mentor-gateway` command."""

import sys

from gateway.cli import main

sys.exit(main())
