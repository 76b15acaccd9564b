"""Render the stack's configuration files from the jinja2 templates, plus the dashboards.

The result is a mapping of relative paths ("<service>/<path below its config root>") to bytes: the same
files `render --output DIR` writes and `up` copies into the containers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from telemetry_stack import catalog
from telemetry_stack.errors import UsageError
from telemetry_stack.services import DEFINITIONS, definition

_PACKAGE_DIR = Path(__file__).resolve().parent

SCRAPE_INTERVAL = "5s"
# The collector refuses data above the limit (less the spike allowance) instead of growing without bound.
COLLECTOR_MEMORY_LIMIT_MIB = 512
COLLECTOR_MEMORY_SPIKE_MIB = 128
DATASOURCE_UIDS = {
    "prometheus": "llama-telemetry-prometheus",
    "jaeger": "llama-telemetry-jaeger",
    "loki": "llama-telemetry-loki",  # with --logs only
}
DASHBOARD_FOLDER = "Llama Stack"
GRAFANA_DASHBOARDS_DIR = "dashboards/llama-stack"  # below Grafana's config root


def resource_dir(name: str) -> Path:
    """templates/ or dashboards/: inside the installed package, or at the top of a source checkout."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"llama-telemetry is missing its {name}/ directory; reinstall the package.")


def _yaml_scalar(value: object) -> str:
    # JSON strings are valid YAML scalars, so quoting through json escapes anything a value may hold.
    return json.dumps(value)


@lru_cache(maxsize=1)
def _environment():
    import jinja2  # imported lazily: commands that render nothing should not pay for it

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["yaml"] = _yaml_scalar
    return env


# GenAI semantic-convention attributes that carry prompt or response content (older and newer conventions),
# and tool calls' arguments and results, which carry what the model and the tool said.
GENAI_CONTENT_PATTERN = (
    r"^gen_ai[.](prompt|completion|input[.]messages|output[.]messages|system_instructions"
    r"|tool[.]call[.](arguments|result))([.].*)?$"
)


# Auto-instrumentation metrics arrive unprefixed from OGX's own endpoint; Prometheus gives them the prefix
# the collector gives them, so the dashboards read one set of names whichever path the metrics took.
OGX_UNPREFIXED = (
    "("
    + "|".join(
        i.prometheus_name(catalog.OGX)[len(catalog.OGX.series_prefix) :] for i in catalog.INSTRUMENTS if not i.custom
    )
    + ")(_bucket|_sum|_count)?"
)


def _template_name(service: str) -> str:
    return service.replace("-", "_")


def template_context(redact_content: bool = False, ogx_metrics: str | None = None, logs: bool = False) -> dict:
    return {
        "redact_content": redact_content,
        "logs": logs,
        "ogx_metrics": ogx_metrics,
        "ogx_unprefixed": OGX_UNPREFIXED,
        "ogx_prefix": catalog.OGX.series_prefix,
        "genai_content_pattern": GENAI_CONTENT_PATTERN,
        # Every container answers to its service name on its project's network (a network alias), so the
        # configs are the same for every project.
        "hosts": {_template_name(d.name): d.name for d in DEFINITIONS},
        "ports": {_template_name(d.name): {p.template_name: p.number for p in d.ports} for d in DEFINITIONS},
        # Each server's own instruments keep their prefix; every other metric gets the dashboards' server's
        # prefix and a copy under each other server's (see telemetry_stack.catalog).
        "server_namespaces": [s.namespace for s in catalog.SERVERS],
        "primary_namespace": catalog.DASHBOARD_SERVER.namespace,
        "copy_namespaces": [s.namespace for s in catalog.SERVERS if s is not catalog.DASHBOARD_SERVER],
        "collector_memory_limit_mib": COLLECTOR_MEMORY_LIMIT_MIB,
        "collector_memory_spike_mib": COLLECTOR_MEMORY_SPIKE_MIB,
        "scrape_interval": SCRAPE_INTERVAL,
        "datasource_uids": DATASOURCE_UIDS,
        "dashboard_folder": DASHBOARD_FOLDER,
        "dashboards_path": definition("grafana").config_root + GRAFANA_DASHBOARDS_DIR,
    }


def dashboard_files(logs: bool = False) -> dict[str, bytes]:
    """The dashboards; one that reads the Loki datasource only with --logs (without Loki it could show nothing)."""
    files = {}
    for path in sorted(resource_dir("dashboards").glob("*.json")):
        content = path.read_bytes()
        if logs or DATASOURCE_UIDS["loki"].encode() not in content:
            files[f"grafana/{GRAFANA_DASHBOARDS_DIR}/{path.name}"] = content
    return files


def render_files(redact_content: bool = False, ogx_metrics: str | None = None, logs: bool = False) -> dict[str, bytes]:
    """All configuration files of the stack (the same for every project): an optional service's only when on."""
    env = _environment()
    context = template_context(redact_content, ogx_metrics, logs)
    flags = {"logs": logs}
    files = {
        f"{d.name}/{path}": env.get_template(template).render(context).encode()
        for d in DEFINITIONS
        if not d.enabled_by or flags[d.enabled_by]
        for path, template in d.templates.items()
    }
    files.update(dashboard_files(logs))
    return files


def container_path(relative: str) -> tuple[str, str]:
    """("grafana/provisioning/x.yaml") -> ("grafana", "/etc/grafana/provisioning/x.yaml")."""
    service, _, rest = relative.partition("/")
    return service, definition(service).config_root + rest


def write_files(files: Mapping[str, bytes], output: Path) -> list[Path]:
    if output.exists() and not output.is_dir():
        raise UsageError(
            f"--output {output} exists and is not a directory.", "Name a directory (it is created if missing)."
        )
    written = []
    for relative, content in sorted(files.items()):
        target = output / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.append(target)
    return written
