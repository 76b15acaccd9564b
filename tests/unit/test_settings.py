import pytest

from telemetry_stack.errors import UsageError
from telemetry_stack.settings import DEFAULT_IMAGES, DEFAULT_PORTS, build_settings


def test_defaults_are_pinned_and_loopback():
    settings = build_settings()
    assert settings.bind == "127.0.0.1" and settings.pull == "missing" and settings.engine is None
    assert dict(settings.ports) == dict(DEFAULT_PORTS)
    for ref in DEFAULT_IMAGES.values():
        assert ":" in ref.rsplit("/", 1)[-1] and not ref.endswith(":latest")
    assert DEFAULT_IMAGES["jaeger"].split(":")[-1].startswith("2.")
    assert DEFAULT_IMAGES["prometheus"].split(":")[-1].startswith("v3.")


def test_overrides_accept_repeated_and_comma_separated_values():
    settings = build_settings(images=["grafana=my/grafana:1", "jaeger=j:2,prometheus=p:3"], ports=["grafana=3001"])
    assert settings.images["grafana"] == "my/grafana:1" and settings.images["jaeger"] == "j:2"
    assert settings.images["otel-collector"] == DEFAULT_IMAGES["otel-collector"]
    assert settings.ports["grafana"] == 3001 and settings.ports["prometheus"] == 9090


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"engine": "lxc"}, "--container 'lxc' is not supported"),
        ({"images": ["grafna=x:1"]}, "unknown name 'grafna'"),
        ({"images": ["grafana"]}, "expects KEY=VALUE"),
        ({"images": ["grafana=-bad"]}, "is not an image reference"),
        ({"ports": ["grafana=70000"]}, "1 to 65535"),
        ({"ports": ["grafana=abc"]}, "1 to 65535"),
        ({"ports": ["grafana=9090"]}, "both use host port 9090"),
        ({"bind": "localhost:80"}, "is not an IP address"),
        ({"pull": "sometimes"}, "is not a pull policy"),
        ({"timeout": 0}, "positive number"),
        ({"project": "Bad Name"}, "is not a valid name"),
        ({"grafana_password": ""}, "must not be empty"),
        ({"bind": "0.0.0.0"}, "default password"),
        ({"ogx_metrics": "0"}, "--ogx-metrics '0': the port must be a whole number from 1 to 65535"),
        ({"ogx_metrics": "ogx:70000"}, "from 1 to 65535"),
        ({"ogx_metrics": "ogx:"}, "from 1 to 65535"),
        ({"ogx_metrics": "metrics"}, "from 1 to 65535"),
        ({"ogx_metrics": "bad host:9464"}, "'bad host' is not a host name or IPv4 address"),
        ({"ogx_metrics": "-x:9464"}, "is not a host name"),
    ],
)
def test_bad_values_say_what_is_wrong(kwargs, fragment):
    with pytest.raises(UsageError) as caught:
        build_settings(**kwargs)
    assert fragment in caught.value.one_line()
    assert caught.value.exit_code == 2


def test_binding_beyond_loopback_needs_a_password():
    settings = build_settings(bind="0.0.0.0", grafana_password="s3cret")
    assert settings.binds_beyond_loopback
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("given", "target", "on_host"),
    [
        ("9464", "host.containers.internal:9464", True),
        (" 9465 ", "host.containers.internal:9465", True),
        ("ogx:9464", "ogx:9464", False),
        ("10.1.2.3:9464", "10.1.2.3:9464", False),
        ("metrics.example.com:09464", "metrics.example.com:9464", False),
    ],
)
def test_ogx_metrics_is_a_port_on_this_machine_or_a_host_and_port(given, target, on_host):
    settings = build_settings(ogx_metrics=given)
    assert (settings.ogx_metrics, settings.ogx_metrics_on_host) == (target, on_host)


def test_ogx_metrics_is_off_by_default_and_comes_from_the_config_file(tmp_path):
    assert build_settings().ogx_metrics is None
    path = tmp_path / "llama-telemetry.yaml"
    path.write_text("ogx_metrics: 9464\n")
    from_file = build_settings(config_file=path)
    assert from_file.ogx_metrics == "host.containers.internal:9464"
    assert from_file.sources["ogx_metrics"] == f"file {path}"
    assert build_settings(config_file=path, ogx_metrics="ogx:1").ogx_metrics == "ogx:1"  # the flag wins
    path.write_text("ogx_metrics: nope\n")
    with pytest.raises(UsageError) as caught:
        build_settings(config_file=path)
    assert caught.value.one_line().startswith(f"ogx_metrics in {path} 'nope'")
