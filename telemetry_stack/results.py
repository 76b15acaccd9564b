"""What the commands return: typed results, each with one `to_json()` for `--json`.

Every JSON document (errors included) carries `schema_version`. A key is never renamed or removed within
a schema version; keys may be added. The README's "JSON output" section states the documents, and
tests/unit/test_results_contract.py pins them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from telemetry_stack.engines.base import RebootReport

SCHEMA_VERSION = 1


def document(fields: dict[str, Any]) -> dict[str, Any]:
    """A `--json` document: the schema version, then the command's own fields."""
    return {"schema_version": SCHEMA_VERSION, **fields}


def error_document(message: str, exit_code: int) -> dict[str, Any]:
    return document({"error": message, "exit_code": exit_code})


@dataclass
class ServiceReport:
    """What `up` and `status` say about one service."""

    name: str
    container: str
    state: str
    healthy: bool
    urls: dict[str, str]
    id: str = ""
    image: str = ""
    action: str = ""  # what `up` did (created, recreated, started, unchanged); status has none

    def to_json(self) -> dict[str, Any]:
        data = {**asdict(self), "id": self.id[:12]}
        if not self.action:
            del data["action"]
        return data


@dataclass(frozen=True)
class GrafanaLogin:
    url: str | None
    user: str


@dataclass
class StackReport:
    """A project's services as an engine holds them: what `up` and `status` share."""

    engine: str
    engine_url: str
    project: str
    network: str
    services: list[ServiceReport]
    grafana: GrafanaLogin | None
    env: dict[str, str]  # what an app needs to send here

    @property
    def healthy(self) -> bool:
        return all(s.healthy for s in self.services)

    @property
    def urls(self) -> dict[str, str]:
        """Every published endpoint, by port key."""
        return {key: url for s in self.services for key, url in s.urls.items()}

    def service(self, name: str) -> ServiceReport | None:
        return next((s for s in self.services if s.name == name), None)

    def _stack_fields(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "engine_url": self.engine_url,
            "project": self.project,
            "network": self.network,
            "healthy": self.healthy,
            "services": [s.to_json() for s in self.services],
            "grafana": asdict(self.grafana) if self.grafana else None,
            "env": dict(self.env),
        }


@dataclass
class VerifyStep:
    step: str
    ok: bool
    seconds: float
    detail: str


@dataclass
class VerifyResult:
    service_name: str  # the service name verify's span and metric carry
    steps: list[VerifyStep]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps) and bool(self.steps)

    def fields(self) -> dict[str, Any]:
        return {"ok": self.ok, "service_name": self.service_name, "steps": [asdict(s) for s in self.steps]}

    def to_json(self) -> dict[str, Any]:
        return document(self.fields())


@dataclass
class UpResult(StackReport):
    grafana_default_password: bool = False
    elapsed_seconds: float = 0.0
    verify: VerifyResult | None = None  # `up --verify`

    def to_json(self) -> dict[str, Any]:
        data = {
            **self._stack_fields(),
            "grafana_default_password": self.grafana_default_password,
            "elapsed_seconds": self.elapsed_seconds,
        }
        if self.verify is not None:
            data["verify"] = self.verify.fields()
        return document(data)


@dataclass
class StatusResult(StackReport):
    network_present: bool = False
    after_reboot: RebootReport | None = None

    def to_json(self) -> dict[str, Any]:
        reboot = asdict(self.after_reboot) if self.after_reboot else None
        return document({**self._stack_fields(), "network_present": self.network_present, "after_reboot": reboot})


@dataclass
class DownResult:
    engine: str
    engine_url: str
    project: str
    removed_containers: list[str]
    removed_network: str | None = None
    removed_volumes: list[str] = field(default_factory=list)
    kept_volumes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return document(asdict(self))


@dataclass(frozen=True)
class Check:
    """One `doctor` finding: ok, info, warn or fail, with a fix when it is not ok."""

    status: str
    title: str
    detail: str
    fix: str = ""


@dataclass
class DoctorReport:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return document({"ok": self.ok, "checks": [asdict(c) for c in self.checks]})
