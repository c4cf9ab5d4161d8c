"""contrib/mentor-gateway.service is a valid, hardened unit (systemd-analyze verify)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

UNIT = ROOT / "contrib" / "mentor-gateway.service"


def test_the_unit_verifies_and_keeps_its_hardening(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8")
    for setting in ("DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=mentor-gateway",
                    "NoNewPrivileges=yes", "PrivateTmp=yes", "CapabilityBoundingSet=",
                    "KillSignal=SIGTERM"):
        assert f"\n{setting}\n" in text, setting
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "mentor-gateway.service"
    unit.write_text(text.replace("/opt/mentor-gateway/.venv/bin/mentor-gateway",
                                 str(ROOT / ".venv" / "bin" / "mentor-gateway")), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if "mentor-gateway.service" in line]
    assert done.returncode == 0 and problems == [], done.stdout + done.stderr
