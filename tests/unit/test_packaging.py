"""The wheel carries its templates and dashboards and works when installed elsewhere."""

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds a wheel and a virtual environment

REPO = Path(__file__).resolve().parents[2]


def test_wheel_installed_into_a_fresh_venv_renders_from_another_directory(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("llama_telemetry-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "telemetry_stack/_data/templates/otel-collector.yaml.j2" in names
    assert (
        len([n for n in names if n.startswith("telemetry_stack/_data/dashboards/") and n.endswith(".json")]) == 7
    )  # the six and the logs board

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # Dependencies come from this environment (no network needed); the package itself only from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [venv / "bin/python", "-c", "import telemetry_stack; print(telemetry_stack.__file__)"],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(site)), where

    result = subprocess.run(
        [venv / "bin/llama-telemetry", "render", "--output", "out"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    rendered = sorted(
        p.relative_to(elsewhere / "out").as_posix() for p in (elsewhere / "out").rglob("*") if p.is_file()
    )
    assert "otel-collector/config.yaml" in rendered
    assert len([p for p in rendered if p.startswith("grafana/dashboards/")]) == 6
