"""The Loki stand-in (tests/engine/image-files/loki/) behaves like Loki 3.7 where the engine tests rely on it: run
as a local process with the configuration `up --logs` renders, it turns ready late, stores OTLP logs (protobuf and
JSON) the way Loki converts them, answers LogQL and Grafana's health query, and fails as Loki fails on a bad
configuration. The Grafana stand-in's Loki health check asks it the way Grafana 12 asks Loki."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from telemetry_stack.render import render_files
from tests.conftest import skip_or_fail
from tests.engine import programs

pytestmark = pytest.mark.slow

GRAFANA_API = Path(programs.__file__).resolve().parent / "image-files" / "grafana" / "grafana-api.sh"
BUSYBOX = Path("/bin/busybox")
# Grafana 12's Loki health check (pkg/tsdb/loki/healthcheck.go), as pkg/tsdb/loki/api.go sends it.
GRAFANA_HEALTH_QUERY = "/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000"
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


@pytest.fixture(scope="module")
def loki() -> Path:
    if programs.go_command() is None:
        skip_or_fail("go", "Go is not installed: the Loki stand-in cannot be built")
    return programs.ensure_built("loki")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path: Path, **top_level) -> tuple[Path, int]:
    """The configuration `up --logs` renders, its /loki below tmp_path and its ports free ones; keyword arguments
    replace (or, as None, remove) top-level keys."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    text = render_files(logs=True)["loki/config.yaml"].decode().replace("/loki", str(tmp_path / "loki"))
    config = yaml.safe_load(text)
    port = _free_port()
    config["server"].update(http_listen_port=port, grpc_listen_port=_free_port(), http_listen_address="127.0.0.1")
    for key, value in top_level.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, port


def _http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@contextlib.contextmanager
def _running(loki: Path, config: Path, port: int, ready_delay: str = "0") -> Iterator[str]:
    """The stand-in as a process; yields its URL once it listens. It must end promptly with 0 on SIGTERM."""
    env = {**os.environ, "STAND_IN_READY_DELAY": ready_delay}
    process = subprocess.Popen(
        [str(loki), f"-config.file={config}"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, process.communicate()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            assert time.monotonic() < deadline, "the stand-in did not listen"
            time.sleep(0.05)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0, stderr
        assert time.monotonic() - started < 3, "SIGTERM did not end the stand-in promptly"


def _start_failing(loki: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(loki), *args], capture_output=True, text=True, timeout=10)


def _query_range(url: str, query: str, headers: dict | None = None, **params) -> dict:
    params = {"query": query, "start": str(time.time_ns() - 600 * 10**9), **params}
    status, _, body = _http("GET", f"{url}/loki/api/v1/query_range?{urllib.parse.urlencode(params)}", headers=headers)
    assert status == 200, body
    return json.loads(body)


# --- start, readiness, configuration ---------------------------------------------------------------------


def test_ready_answers_503_until_the_delay_passes_then_200(loki, tmp_path):
    config, port = _config(tmp_path)
    with _running(loki, config, port, ready_delay="1") as url:
        status, headers, body = _http("GET", f"{url}/ready")
        # pkg/loki/loki.go readyHandler with the ring lifecycler's min_ready_duration message.
        assert (status, body) == (503, b"Ingester not ready: waiting for 15s after being ready\n")
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        deadline = time.monotonic() + 5
        while (answer := _http("GET", f"{url}/ready"))[0] != 200:
            assert time.monotonic() < deadline, answer
            time.sleep(0.1)
        assert answer[2] == b"ready\n"
        assert (tmp_path / "loki" / "rules").is_dir() and (tmp_path / "loki" / "chunks").is_dir()


def test_an_unknown_top_level_key_fails_as_loki_fails(loki, tmp_path):
    config, _ = _config(tmp_path, no_such_section={"enabled": True})
    result = _start_failing(loki, "-config.file", str(config))  # the flag's value as a separate argument
    assert result.returncode == 1
    assert result.stderr.startswith(f"failed parsing config: {config}: yaml: unmarshal errors:\n  line ")
    assert "field no_such_section not found in type loki.ConfigWrapper" in result.stderr


def test_a_missing_config_file_fails_as_loki_fails(loki, tmp_path):
    result = _start_failing(loki, f"-config.file={tmp_path / 'nope.yaml'}")
    assert result.returncode == 1
    assert f"{tmp_path / 'nope.yaml'} does not exist, set config.file for custom config path" in result.stderr


def test_an_unknown_flag_fails_as_loki_fails(loki):
    result = _start_failing(loki, "-no.such.flag=1")
    assert result.returncode == 2
    assert "flag provided but not defined: -no.such.flag" in result.stderr


def test_a_schema_older_than_v13_is_refused_with_structured_metadata(loki, tmp_path):
    schema = {"configs": [{"from": "2024-01-01", "store": "tsdb", "object_store": "filesystem", "schema": "v12"}]}
    config, _ = _config(tmp_path, schema_config=schema)
    result = _start_failing(loki, f"-config.file={config}")
    assert result.returncode == 1
    assert 'msg="validating config"' in result.stderr and "schema v13 is required" in result.stderr


def test_a_path_prefix_it_cannot_write_fails_at_mkdir(loki, tmp_path):
    config, _ = _config(tmp_path)
    if os.geteuid() == 0:  # root writes anywhere: a file where the directory should be fails the same mkdir
        (tmp_path / "loki").write_text("")
        expected = f"mkdir {tmp_path / 'loki'}: not a directory"
    else:
        (tmp_path / "loki").mkdir(mode=0o500)
        expected = f"mkdir {tmp_path / 'loki' / 'rules'}: permission denied"
    result = _start_failing(loki, f"-config.file={config}")
    assert result.returncode == 1
    assert expected in result.stderr and "error initialising module: ruler-storage" in result.stderr
    assert 'msg="error running loki"' in result.stderr


# --- OTLP ingestion and queries --------------------------------------------------------------------------


def _protobuf_request(now: int) -> bytes:
    common = pytest.importorskip("opentelemetry.proto.common.v1.common_pb2")
    logs = pytest.importorskip("opentelemetry.proto.logs.v1.logs_pb2")
    resource = pytest.importorskip("opentelemetry.proto.resource.v1.resource_pb2")
    service = pytest.importorskip("opentelemetry.proto.collector.logs.v1.logs_service_pb2")

    def attr(key: str, value: str) -> object:
        return common.KeyValue(key=key, value=common.AnyValue(string_value=value))

    body = common.AnyValue(
        kvlist_value=common.KeyValueList(
            values=[
                common.KeyValue(key="content", value=common.AnyValue(string_value="a <question>")),
                common.KeyValue(key="n", value=common.AnyValue(int_value=3)),
            ]
        )
    )
    record = logs.LogRecord(
        time_unix_nano=now,
        observed_time_unix_nano=now + 1,
        severity_number=logs.SEVERITY_NUMBER_WARN,
        severity_text="Warning",
        body=body,
        attributes=[attr("gen_ai.system", "openai"), attr("event.name", "gen_ai.user.message")],
        trace_id=bytes.fromhex(TRACE_ID),
        span_id=bytes.fromhex(SPAN_ID),
        event_name="gen_ai.user.message",
    )
    resource_attributes = [
        attr("service.name", "pb-app"),
        attr("deployment.environment", "test"),
        attr("telemetry.sdk.language", "python"),
    ]
    request = service.ExportLogsServiceRequest(
        resource_logs=[
            logs.ResourceLogs(
                resource=resource.Resource(attributes=resource_attributes),
                scope_logs=[
                    logs.ScopeLogs(
                        scope=common.InstrumentationScope(name="my.scope", version="1.2"), log_records=[record]
                    )
                ],
            )
        ]
    )
    return request.SerializeToString()


def _json_request(now: int) -> dict:
    def attrs(values: dict) -> list[dict]:
        return [{"key": k, "value": {"stringValue": v}} for k, v in values.items()]

    records = [
        {
            "timeUnixNano": str(now + i),
            "eventName": "gen_ai.choice",  # Loki 3.7 keeps no OTLP event name: only the attribute below shows
            "body": {"stringValue": f"answer {i}"},
            "attributes": [*attrs({"event.name": "gen_ai.choice"}), {"key": "index", "value": {"intValue": str(i)}}],
            "traceId": TRACE_ID,
        }
        for i in range(2)
    ]
    records.append(
        {"timeUnixNano": str(now + 5), "eventName": "app.log", "body": {"stringValue": "level=error msg=boom"}}
    )
    resource = {"attributes": attrs({"service.name": "json-app"})}
    return {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": records}]}]}


def test_otlp_protobuf_and_json_are_stored_as_loki_stores_them(loki, tmp_path):
    config, port = _config(tmp_path)
    now = time.time_ns() - 10**9
    with _running(loki, config, port) as url:
        status, _, body = _http(
            "POST",
            f"{url}/otlp/v1/logs",
            gzip.compress(_protobuf_request(now)),
            {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
        )
        assert (status, body) == (204, b"")
        status, _, body = _http(
            "POST", f"{url}/otlp/v1/logs", json.dumps(_json_request(now)).encode(), {"Content-Type": "application/json"}
        )
        assert status == 204, body

        [stream] = _query_range(url, '{service_name="pb-app"}')["data"]["result"]
        # Promoted resource attributes are stream labels; everything else is structured metadata, named with
        # dots as underscores, merged into the stream's labels (no categorize-labels encoding flag).
        assert stream["stream"] == {
            "service_name": "pb-app",
            "deployment_environment": "test",
            "telemetry_sdk_language": "python",
            "scope_name": "my.scope",
            "scope_version": "1.2",
            "gen_ai_system": "openai",
            "event_name": "gen_ai.user.message",
            "observed_timestamp": str(now + 1),
            "severity_number": "13",
            "severity_text": "Warning",
            "detected_level": "warn",
            "trace_id": TRACE_ID,
            "span_id": SPAN_ID,
        }
        assert stream["values"] == [[str(now), '{"content":"a <question>","n":3}']]

        result = _query_range(url, '{service_name="json-app"}', direction="forward")["data"]["result"]
        lines = [
            (s["stream"].get("event_name"), s["stream"].get("index"), line) for s in result for _, line in s["values"]
        ]
        assert sorted(lines, key=str) == sorted(
            [
                ("gen_ai.choice", "0", "answer 0"),
                ("gen_ai.choice", "1", "answer 1"),
                (None, None, "level=error msg=boom"),
            ],
            key=str,
        )
        levels = {s["values"][0][1]: s["stream"]["detected_level"] for s in result}
        assert levels == {"answer 0": "unknown", "answer 1": "unknown", "level=error msg=boom": "error"}

        # Pipelines: a structured-metadata label filter and a line filter.
        result = _query_range(url, '{service_name=~".+"} | trace_id="' + TRACE_ID + '" |= "answer"')["data"]["result"]
        assert sorted(line for s in result for _, line in s["values"]) == ["answer 0", "answer 1"]
        result = _query_range(url, '{service_name="json-app"} != "answer"', limit="1")["data"]["result"]
        assert [line for s in result for _, line in s["values"]] == ["level=error msg=boom"]

        # A metric query as the logs board writes it.
        query = (
            'sum by (event_name) (count_over_time({service_name=~"json-app|pb-app"} | event_name=~"gen_ai[.].+" [5m]))'
        )
        status, _, body = _http("GET", f"{url}/loki/api/v1/query?{urllib.parse.urlencode({'query': query})}")
        vector = json.loads(body)["data"]
        assert vector["resultType"] == "vector"
        assert {s["metric"]["event_name"]: s["value"][1] for s in vector["result"]} == {
            "gen_ai.choice": "2",
            "gen_ai.user.message": "1",
        }
        matrix = _query_range(url, query.replace("sum by (event_name) ", "sum "), step="60")["data"]
        assert matrix["resultType"] == "matrix" and matrix["result"][0]["metric"] == {}

        # The index: stream labels only.
        assert json.loads(_http("GET", f"{url}/loki/api/v1/labels")[2]) == {
            "status": "success",
            "data": ["deployment_environment", "service_name"],
        }
        values = json.loads(_http("GET", f"{url}/loki/api/v1/label/service_name/values")[2])
        assert values["data"] == ["json-app", "pb-app"]
        match = urllib.parse.urlencode({"match[]": '{service_name="json-app"}'})
        assert json.loads(_http("GET", f"{url}/loki/api/v1/series?{match}")[2])["data"] == [
            {"service_name": "json-app"}
        ]


def test_grafanas_health_query_answers_two(loki, tmp_path):
    config, port = _config(tmp_path)
    with _running(loki, config, port) as url:
        status, headers, body = _http("GET", url + GRAFANA_HEALTH_QUERY)
    assert status == 200 and headers["Content-Type"] == "application/json; charset=UTF-8"
    answer = json.loads(body)
    assert answer["status"] == "success"
    # time=4000000000 has ten digits, so Loki (pkg/loghttp/params.go parseTimestamp) reads it as seconds.
    assert answer["data"]["resultType"] == "vector"
    assert answer["data"]["result"] == [{"metric": {}, "value": [4000000000, "2"]}]


def test_requests_loki_refuses(loki, tmp_path):
    config, port = _config(tmp_path)
    with _running(loki, config, port) as url:
        # pkg/loghttp/push/otlp.go compares the content type exactly.
        status, _, body = _http(
            "POST", f"{url}/otlp/v1/logs", b"{}", {"Content-Type": "application/json; charset=utf-8"}
        )
        assert status == 400 and b"content type: application/json; charset=utf-8 is not supported" in body
        status, _, body = _http("POST", f"{url}/otlp/v1/logs", b"{}", {"Content-Type": "application/json"})
        assert status == 422 and b"error at least one valid stream is required for ingestion" in body
        assert _http("GET", f"{url}/otlp/v1/logs")[0] == 405
        assert _http("POST", f"{url}/v1/logs", b"{}", {"Content-Type": "application/json"})[0] == 404
        old = _json_request(time.time_ns() - 8 * 24 * 3600 * 10**9)
        status, _, body = _http(
            "POST", f"{url}/otlp/v1/logs", json.dumps(old).encode(), {"Content-Type": "application/json"}
        )
        assert status == 400 and b"has timestamp too old" in body
        query = urllib.parse.urlencode({"query": '{service_name=~".*"}'})
        status, _, body = _http("GET", f"{url}/loki/api/v1/query_range?{query}")
        assert status == 400 and body.startswith(b"parse error : queries require at least one regexp or equality")
        query = urllib.parse.urlencode({"query": '{service_name="x"}'})
        status, _, body = _http("GET", f"{url}/loki/api/v1/query?{query}")
        assert status == 400 and b"log queries are not supported as an instant query type" in body


def test_without_auth_enabled_false_every_request_needs_a_tenant(loki, tmp_path):
    config, port = _config(tmp_path, auth_enabled=None)  # absent: Loki's default is true
    request = json.dumps(_json_request(time.time_ns())).encode()
    with _running(loki, config, port) as url:
        status, _, body = _http("POST", f"{url}/otlp/v1/logs", request, {"Content-Type": "application/json"})
        assert (status, body) == (401, b"no org id\n")
        assert _http("GET", url + GRAFANA_HEALTH_QUERY)[:3:2] == (401, b"no org id\n")
        assert _http("GET", f"{url}/ready")[0] in (200, 503)  # /ready needs no tenant
        tenant = {"X-Scope-OrgID": "team-a"}
        status, _, _ = _http("POST", f"{url}/otlp/v1/logs", request, {"Content-Type": "application/json", **tenant})
        assert status == 204
        assert _query_range(url, '{service_name="json-app"}', headers=tenant)["data"]["result"]
        assert not _query_range(url, '{service_name="json-app"}', headers={"X-Scope-OrgID": "b"})["data"]["result"]


# --- the Grafana stand-in's Loki health check ------------------------------------------------------------


def _grafana_health(api: Path, uid: str) -> tuple[str, dict]:
    """One request to grafana-api.sh, run by busybox with busybox's applets only, as in the image."""
    applets = api.parent / "applets"
    if not applets.is_dir():
        applets.mkdir()
        for applet in ("sh", "cat", "grep", "head", "printf", "sed", "timeout", "tr", "wget"):
            (applets / applet).symlink_to(BUSYBOX)
    login = base64.b64encode(b"admin:secret").decode()
    (api / "login").write_text(login + "\n")
    request = f"GET /api/datasources/uid/{uid}/health HTTP/1.1\r\nAuthorization: Basic {login}\r\n\r\n"
    answer = subprocess.run(
        [str(applets / "sh"), str(GRAFANA_API)],
        input=request.encode(),
        capture_output=True,
        timeout=60,
        env={"PATH": str(applets), "STAND_IN_API_DIR": str(api)},
    ).stdout.decode()
    head, _, body = answer.partition("\r\n\r\n")
    return head.splitlines()[0], json.loads(body)


def test_the_grafana_stand_in_asks_loki_as_grafana_does(loki, tmp_path):
    if not BUSYBOX.is_file():
        pytest.skip(f"{BUSYBOX} is missing: install the Debian package busybox-static")
    api = tmp_path / "api"
    (api / "datasources").mkdir(parents=True)
    config, port = _config(tmp_path)
    (api / "datasources" / "logs").write_text(f"type=loki\nurl=http://127.0.0.1:{port}\n")
    (api / "datasources" / "gone").write_text(f"type=loki\nurl=http://127.0.0.1:{_free_port()}\n")
    (api / "datasources" / "metrics").write_text("type=prometheus\nurl=http://127.0.0.1:1\n")
    with _running(loki, config, port):
        assert _grafana_health(api, "logs") == (
            "HTTP/1.1 200 OK",
            {"message": "Successfully queried the Loki API.", "status": "OK"},
        )
    status, answer = _grafana_health(api, "gone")
    assert status == "HTTP/1.1 400 Bad Request" and answer["status"] == "ERROR"
    assert answer["message"].startswith("There was an error returned querying the Loki API.: ")
    assert _grafana_health(api, "metrics")[0] == "HTTP/1.1 200 OK"  # other types: unchanged

    tenant_config, tenant_port = _config(tmp_path / "auth", auth_enabled=True)
    (api / "datasources" / "logs").write_text(f"type=loki\nurl=http://127.0.0.1:{tenant_port}\n")
    with _running(loki, tenant_config, tenant_port):
        status, answer = _grafana_health(api, "logs")
    assert status == "HTTP/1.1 400 Bad Request" and answer["status"] == "ERROR"
    assert "401 Unauthorized" in answer["message"]
