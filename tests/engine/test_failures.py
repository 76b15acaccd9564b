"""Failures on the real engines: foreign resources, taken ports, missing images, crashing services,
unreachable engines. In each case the message says what is wrong and nothing foreign is touched."""

from __future__ import annotations

import json
import re
import socket
import time
from datetime import datetime, timezone

from telemetry_stack.stack import project_labels
from tests.engine.conftest import assert_not_deployed, engine_cli, foreign_container, stack_names

NETWORK, CONTAINERS, VOLUMES = stack_names("default")


def _engine_time(text: str) -> float:
    """An engine timestamp ("2026-11-21T07:12:17.123456789Z" or with an offset) as epoch seconds."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    assert match, text
    stamp, fraction, zone = match.groups()
    offset = timezone.utc if zone == "Z" else datetime.strptime(zone.replace(":", ""), "%z").tzinfo
    seconds = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=offset).timestamp()
    return seconds + float(f"0.{fraction or 0}")


def test_foreign_container_named_grafana_is_left_alone(tele, engine, engine_name, images):
    with foreign_container(engine_name, "grafana", images["grafana"]) as foreign_id:
        result = tele("up")
        assert result.code == 1
        assert "'grafana'" in result.stderr and "not created by llama-telemetry" in result.stderr
        assert "Traceback" not in result.stderr
        assert_not_deployed(engine)

        down = tele("down")
        assert down.code == 0
        survivor = engine.container("grafana")
        assert survivor is not None and survivor.id == foreign_id


def test_taken_port_is_named_and_nothing_is_created(tele, engine):
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        blocker.bind(("127.0.0.1", 9090))
        blocker.listen()
        result = tele("up")
    assert result.code == 1
    assert "Port 9090" in result.stderr and "prometheus" in result.stderr and "--port prometheus=" in result.stderr
    assert_not_deployed(engine)


def test_pull_never_with_a_missing_image(tele, engine, image_env):
    missing = "localhost/llama-telemetry-test/not-there:1"
    result = tele("up", env=image_env(grafana=missing))
    assert result.code == 1
    assert missing in result.stderr and "--pull never" in result.stderr
    assert_not_deployed(engine)


def test_service_that_exits_fails_at_once_with_its_logs(tele, engine, engine_name, images):
    """Grafana's data volume is not writable by uid 472: the stand-in fails like the real image."""
    volume = VOLUMES["grafana"]
    created = engine_cli(
        engine_name,
        "volume",
        "create",
        *sum((["--label", f"{k}={v}"] for k, v in project_labels("default").items()), []),
        volume,
    )
    assert created.returncode == 0, created.stderr
    # Populate the volume as root so it is no longer an empty volume the engine would chown for us.
    locked = engine_cli(
        engine_name,
        "run",
        "--rm",
        "--user",
        "0",
        "--entrypoint",
        "/bin/sh",
        "-v",
        f"{volume}:/data",
        images["grafana"],
        "-c",
        "touch /data/.owned-by-root && chown 0:0 /data && chmod 755 /data",
    )
    assert locked.returncode == 0, locked.stderr

    result = tele("up", "--timeout", "60")
    finished = time.time()
    assert result.code == 1
    assert "grafana stopped before it became healthy" in result.stderr
    assert "not writable" in result.stderr  # its last log lines are shown
    assert f"Its data volume {volume} (at /var/lib/grafana) is not writable by uid 472" in result.stderr
    # Failed within a second of the exit (FinishedAt, UTC), not at the 60 s timeout.
    state = json.loads(engine_cli(engine_name, "inspect", "grafana").stdout)[0]["State"]
    exited_at = _engine_time(state["FinishedAt"])
    assert finished - exited_at < 1.5, finished - exited_at


def test_unhealthy_service_times_out_with_its_logs(tele, images, image_env):
    # Jaeger in Grafana's place never answers /api/health on 3000: the wait must end at --timeout.
    result = tele("up", "--timeout", "3", env=image_env(grafana=images["jaeger"]))
    assert result.code == 1
    assert "grafana did not become healthy within 3 s" in result.stderr
    assert "last log lines of grafana" in result.stderr


def test_unreachable_engine_is_reported_quickly(cli, engine_name):
    variable = "DOCKER_HOST" if engine_name == "docker" else "CONTAINER_HOST"
    started = time.monotonic()
    result = cli("status", "--container", engine_name, env={variable: "unix:///tmp/llama-telemetry-no-engine.sock"})
    assert result.code == 1
    assert "did not answer" in result.stderr and "llama-telemetry-no-engine.sock" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 5


def test_a_failed_pull_is_one_clear_error_and_nothing_is_created(tele, engine):
    # No registry here: --pull always must try, fail, and say which image, before creating anything.
    result = tele("up", "--pull", "always")
    assert result.code == 1
    assert "Pulling localhost/llama-telemetry-test/" in result.stderr and "failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert_not_deployed(engine)
