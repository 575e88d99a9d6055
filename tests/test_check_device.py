"""scripts/check_device.py, the GPU check, run against the CPU itself: it must run end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_device.py"


def _load():
    spec = importlib.util.spec_from_file_location("check_device", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_check_runs_and_agrees_on_the_cpu(capsys):
    assert _load().main(["--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "24 of 24 checks agree" in out
    assert "FAIL" not in out


def test_a_difference_between_devices_is_reported(monkeypatch, capsys):
    module = _load()
    # Pretend the device's outputs came out different (attention only, to keep this test short):
    # the check must say FAIL and exit 1.
    monkeypatch.setattr(module, "_close", lambda a, b: False)
    monkeypatch.setattr(module, "check_models", lambda device: [])
    monkeypatch.setattr(module, "check_search", lambda device: [])
    assert module.main(["--device", "cpu"]) == 1
    assert "FAIL" in capsys.readouterr().out
