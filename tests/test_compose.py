"""Static checks of docker-compose.yml, the collector's config, the Dockerfile and .dockerignore.

There is no Docker engine on the build machines, so the stack is never started here. Instead the
compose file is validated against the Compose Specification JSON schema kept in the shared folder
beside the repository (``../shared/schemas/compose/compose-spec.json``), and a few wiring rules
that the schema cannot express are checked directly: among them, that a span sent by the hub or
the simulators has a path to Jaeger (service -> otel-collector -> jaeger).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from observability.tracing import tracing_settings
from simulators.common.tracing import export_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
SCHEMA_FILE = REPO_ROOT.parent / "shared" / "schemas" / "compose" / "compose-spec.json"

HUB_SERVICES = frozenset({"migrate", "ingress", "worker", "simulators"})
TRACED_HUB_SERVICES = {"ingress": "factorhub-ingress", "worker": "factorhub-worker"}
COLLECTOR, JAEGER = "otel-collector", "jaeger"
# The collector's exporter types that speak OTLP over gRPC (`otlp` is the alias before 0.144).
OTLP_GRPC_EXPORTERS = frozenset({"otlp_grpc", "otlp"})
HUB_ENV = {
    "FACTORHUB_DATABASE_URL": "postgresql+asyncpg://factorhub:factorhub@postgres:5432/factorhub",
    "FACTORHUB_BROKER_URL": "kafka://kafka:9092",
    "FACTORHUB_REGISTRY_URL": "http://simulators:8101",
    "FACTORHUB_BANK_URL": "http://simulators:8102",
}

# "$schema" draft marker -> validator class. Matched on the draft name, so http/https and a
# trailing "#" or "/schema" do not matter.
_VALIDATORS_BY_DRAFT: dict[str, type[Any]] = {
    "draft-03": jsonschema.Draft3Validator,
    "draft-04": jsonschema.Draft4Validator,
    "draft-06": jsonschema.Draft6Validator,
    "draft-07": jsonschema.Draft7Validator,
    "2019-09": jsonschema.Draft201909Validator,
    "2020-12": jsonschema.Draft202012Validator,
}
# A tag is pinned enough when it starts with a version number ("16", "3.13-management", "3.9.0").
_VERSIONED_TAG = re.compile(r"^v?\d")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a YAML mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose.get("services")
    assert isinstance(found, dict), "docker-compose.yml has no `services:` mapping"
    return found


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    if not SCHEMA_FILE.is_file():
        pytest.fail(
            f"Compose Specification schema not found at {SCHEMA_FILE}. The shared/ folder must sit "
            "beside the repository checkout (../shared/schemas/compose/compose-spec.json).",
            pytrace=False,
        )
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def _validator_class_for(schema: dict[str, Any]) -> type[Any]:
    declared = str(schema.get("$schema", ""))
    for draft, validator_class in _VALIDATORS_BY_DRAFT.items():
        if draft in declared:
            return validator_class
    pytest.fail(f"compose-spec.json declares an unknown $schema draft: {declared!r}")


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Normalise both `depends_on` forms (list of names, mapping of conditions) to a mapping."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {name: {"condition": "service_started"} for name in raw}
    return dict(raw)


def _image_tag(image: str) -> str | None:
    """The tag of an image reference, or None when it has none (which means `latest`)."""
    name = image.split("@", 1)[0]
    last_segment = name.rsplit("/", 1)[-1]
    return last_segment.split(":", 1)[1] if ":" in last_segment else None


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    if pending:
        logical.append(pending)
    pairs = []
    for entry in logical:
        keyword, _, args = entry.partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM instruction"
    return instructions[starts[-1] :]


@pytest.fixture(scope="module")
def collector_mount(services: dict[str, dict[str, Any]]) -> tuple[Path, str]:
    """(the config file in the repository, where the collector container sees it)."""
    collector = services[COLLECTOR]
    command = collector.get("command") or []
    configs = [arg.split("=", 1)[1] for arg in command if arg.startswith("--config=")]
    assert len(configs) == 1, f"{COLLECTOR}: command must name one --config=PATH: {command}"
    for source, target in _bind_mounts(collector):
        if target == configs[0]:
            return (REPO_ROOT / source).resolve(), target
    pytest.fail(f"{COLLECTOR}: nothing is mounted at its --config path {configs[0]}")


@pytest.fixture(scope="module")
def collector_config(collector_mount: tuple[Path, str]) -> dict[str, Any]:
    path, _ = collector_mount
    assert path.is_file(), f"the collector's config {path} is not in the repository"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} must be a YAML mapping"
    return data


def _bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host path, container path) of each bind mount, from the short or the long syntax."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target = rest.split(":", 1)[0]
        elif volume.get("type") == "bind":
            source, target = volume["source"], volume["target"]
        else:
            continue
        if source.startswith((".", "/")):  # a named volume has neither
            mounts.append((source, target))
    return mounts


def _host_port(address: str) -> tuple[str, int]:
    """`scheme://host:port`, `host:port` or `:port` -> (host, port)."""
    parts = urlsplit(address if "://" in address else f"//{address}")
    assert parts.port is not None, f"{address!r} names no port"
    return parts.hostname or "", parts.port


def _published(service: dict[str, Any]) -> dict[int, int]:
    """Container port -> host port, for each port the service publishes."""
    found: dict[int, int] = {}
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            found[int(entry["target"])] = int(entry.get("published") or entry["target"])
            continue
        fields = str(entry).split("/", 1)[0].split(":")
        found[int(fields[-1])] = int(fields[-2] if len(fields) > 1 else fields[-1])
    return found


def _components(config: dict[str, Any], kind: str) -> dict[str, Any]:
    section = config.get(kind) or {}
    assert isinstance(section, dict), f"collector config: `{kind}` must be a mapping"
    return section


def _kind_of(component_id: str) -> str:
    """`otlp_grpc/jaeger` -> `otlp_grpc`: a component id is `type[/name]`."""
    return component_id.split("/", 1)[0]


def _otlp_receiver_ports(config: dict[str, Any]) -> dict[str, int]:
    """Protocol (grpc, http) -> the port the collector's OTLP receiver listens on."""
    receivers = _components(config, "receivers")
    otlp = [value for key, value in receivers.items() if _kind_of(key) == "otlp"]
    assert len(otlp) == 1, "the collector should have one OTLP receiver"
    protocols = (otlp[0] or {}).get("protocols") or {}
    return {name: _host_port(options["endpoint"])[1] for name, options in protocols.items()}


def _traces_exporters(config: dict[str, Any]) -> dict[str, Any]:
    pipelines = config["service"]["pipelines"]
    exporters = _components(config, "exporters")
    names = [
        name
        for pipeline, p in pipelines.items()
        if _kind_of(pipeline) == "traces"
        for name in p["exporters"]
    ]
    return {name: exporters[name] or {} for name in names}


class TestComposeSpecification:
    def test_the_compose_schema_declares_a_draft_that_jsonschema_supports(self, compose_schema):
        validator_class = _validator_class_for(compose_schema)
        validator_class.check_schema(compose_schema)

    def test_the_compose_file_is_valid_against_the_compose_specification(
        self, compose, compose_schema
    ):
        validator = _validator_class_for(compose_schema)(compose_schema)
        errors = sorted(validator.iter_errors(compose), key=lambda error: list(error.path))
        messages = [
            f"{'/'.join(str(part) for part in error.path) or '<root>'}: {error.message}"
            for error in errors
        ]
        assert not messages, "docker-compose.yml breaks the Compose Specification:\n" + "\n".join(
            messages
        )

    def test_the_schema_rejects_a_service_with_a_misspelt_key(self, compose, compose_schema):
        # Guards against a schema that accepts anything, which would make the check above vacuous.
        broken = {**compose, "services": {"postgres": {"image": "postgres:16", "imagee": "x"}}}
        validator = _validator_class_for(compose_schema)(compose_schema)
        assert not validator.is_valid(broken)

    def test_the_compose_file_has_no_obsolete_top_level_version_key(self, compose):
        assert "version" not in compose


class TestServiceWiring:
    def test_the_stack_has_every_expected_service(self, services):
        expected = {"kafka", "rabbitmq", "postgres", COLLECTOR, JAEGER} | HUB_SERVICES
        assert expected <= set(services), f"missing services: {sorted(expected - set(services))}"

    def test_every_hub_service_uses_the_same_image_build(self, services):
        built = {name for name, service in services.items() if "build" in service}
        assert built == HUB_SERVICES, "only the hub services should build the hub image"
        images = {
            json.dumps([services[name].get("image"), services[name]["build"]], sort_keys=True)
            for name in built
        }
        assert len(images) == 1, f"hub services disagree on image/build: {sorted(images)}"
        assert all(services[name].get("image") for name in built), "hub services must name image"

    def test_every_hub_service_gets_the_shared_hub_environment(self, services):
        for name in HUB_SERVICES:
            environment = services[name].get("environment")
            assert isinstance(environment, dict), f"{name}: environment must be a mapping"
            for key, value in HUB_ENV.items():
                assert environment.get(key) == value, f"{name}: {key} should be {value!r}"

    def test_every_depends_on_target_is_a_defined_service(self, services):
        for name, service in services.items():
            for target in _depends_on(service):
                assert target in services, f"{name} depends on undefined service {target!r}"

    def test_every_service_waited_on_as_healthy_has_a_healthcheck(self, services):
        for name, service in services.items():
            for target, options in _depends_on(service).items():
                if options.get("condition") != "service_healthy":
                    continue
                healthcheck = services.get(target, {}).get("healthcheck") or {}
                test = healthcheck.get("test")
                problem = (
                    f"{name} waits for {target} to be healthy, but {target} has no healthcheck"
                )
                assert test, problem
                assert test != ["NONE"], problem
                assert not healthcheck.get("disable"), problem

    def test_the_migration_runs_once_before_ingress_and_worker_start(self, services):
        migrate = services["migrate"]
        assert migrate.get("command") == ["db", "upgrade"]
        assert migrate.get("restart") == "no"
        for name in ("ingress", "worker"):
            condition = _depends_on(services[name]).get("migrate", {}).get("condition")
            assert condition == "service_completed_successfully", name

    def test_the_worker_runs_two_replicas_without_a_fixed_container_name(self, services):
        worker = services["worker"]
        assert worker.get("deploy", {}).get("replicas") == 2
        assert "container_name" not in worker
        assert not worker.get("ports"), "replicas cannot share a published host port"

    def test_no_service_uses_a_floating_or_latest_tag(self, services):
        for name, service in services.items():
            image = service.get("image")
            assert image, f"{name} has no image"
            if "@sha256:" in image:
                continue
            tag = _image_tag(image)
            assert tag is not None, f"{name}: {image!r} has no tag, which means `latest`"
            assert "latest" not in tag, f"{name}: {image!r} uses a latest tag"
            assert _VERSIONED_TAG.match(tag), f"{name}: {image!r} does not pin a version"


class TestCollectorConfig:
    def test_the_collector_config_is_mounted_read_only_from_the_repository(
        self, services, collector_mount
    ):
        path, target = collector_mount
        assert path.is_file(), f"{path} does not exist"
        assert REPO_ROOT in path.parents, "the mounted config must live in the repository"
        mounted = [v for v in services[COLLECTOR]["volumes"] if isinstance(v, str)]
        assert any(v.endswith(f":{target}:ro") for v in mounted), "mount the config read-only"

    def test_every_pipeline_uses_only_components_the_config_defines(self, collector_config):
        pipelines = collector_config.get("service", {}).get("pipelines")
        assert isinstance(pipelines, dict), "the collector has no `service.pipelines` mapping"
        assert pipelines, "the collector has no pipelines"
        for name, pipeline in pipelines.items():
            assert pipeline.get("receivers"), f"pipeline {name} has no receiver"
            assert pipeline.get("exporters"), f"pipeline {name} has no exporter"
            for kind in ("receivers", "processors", "exporters"):
                defined = _components(collector_config, kind)
                for component in pipeline.get(kind) or []:
                    assert component in defined, f"pipeline {name}: {kind} {component!r} undefined"
        extensions = _components(collector_config, "extensions")
        for extension in collector_config["service"].get("extensions") or []:
            assert extension in extensions, f"service extension {extension!r} is undefined"

    def test_every_defined_component_is_used_by_a_pipeline(self, collector_config):
        pipelines = collector_config["service"]["pipelines"].values()
        for kind in ("receivers", "processors", "exporters"):
            used = {component for p in pipelines for component in p.get(kind) or []}
            unused = set(_components(collector_config, kind)) - used
            assert not unused, f"{kind} defined but in no pipeline: {sorted(unused)}"

    def test_the_otlp_receiver_listens_on_4317_and_4318_on_every_interface(self, collector_config):
        assert _otlp_receiver_ports(collector_config) == {"grpc": 4317, "http": 4318}
        otlp = _components(collector_config, "receivers")["otlp"]["protocols"]
        for protocol, options in otlp.items():
            host, _ = _host_port(options["endpoint"])
            # The collector's default is localhost, which no other container can reach.
            assert host == "0.0.0.0", f"OTLP {protocol} binds {host!r}, not 0.0.0.0"

    def test_every_pipeline_limits_memory_first_and_batches(self, collector_config):
        for name, pipeline in collector_config["service"]["pipelines"].items():
            processors = [_kind_of(p) for p in pipeline.get("processors") or []]
            assert processors[:1] == ["memory_limiter"], f"{name}: memory_limiter must be first"
            assert "batch" in processors, f"{name}: no batch processor"

    def test_traces_are_exported_over_otlp_grpc_to_the_jaeger_service(
        self, services, collector_config
    ):
        exporters = _traces_exporters(collector_config)
        to_jaeger = {
            name: options
            for name, options in exporters.items()
            if _kind_of(name) in OTLP_GRPC_EXPORTERS
            and _host_port(options.get("endpoint", ""))[0] == JAEGER
        }
        assert to_jaeger, f"no traces exporter sends OTLP gRPC to {JAEGER}: {sorted(exporters)}"
        for name, options in to_jaeger.items():
            _, port = _host_port(options["endpoint"])
            assert port == 4317, f"{name}: Jaeger takes OTLP gRPC on 4317, not {port}"
            assert (options.get("tls") or {}).get("insecure") is True, f"{name}: Jaeger has no TLS"
        assert JAEGER in services

    def test_the_health_check_extension_is_on_and_reachable_from_outside_the_container(
        self, services, collector_config
    ):
        assert "health_check" in collector_config["service"].get("extensions", [])
        host, port = _host_port(
            _components(collector_config, "extensions")["health_check"]["endpoint"]
        )
        assert host == "0.0.0.0"
        assert _published(services[COLLECTOR]).get(port) == port

    def test_the_prometheus_receiver_scrapes_the_ingress_port(self, services, collector_config):
        receiver = _components(collector_config, "receivers")["prometheus"]
        targets = [
            target
            for job in receiver["config"]["scrape_configs"]
            for static in job.get("static_configs", [])
            for target in static["targets"]
        ]
        assert targets
        for target in targets:
            host, port = _host_port(target)
            assert host in services, f"scrape target {target}: no service {host!r}"
            command = services[host].get("command") or []
            assert str(port) in command, f"scrape target {target}: {host} does not serve {port}"


class TestTracingWiring:
    def test_jaeger_publishes_its_ui_on_16686_and_is_waited_on_by_the_collector(self, services):
        assert _published(services[JAEGER]).get(16686) == 16686
        jaeger = _depends_on(services[COLLECTOR]).get(JAEGER, {})
        assert jaeger.get("condition") == "service_healthy"

    def test_each_hub_service_sends_its_spans_to_the_collectors_otlp_grpc_port(
        self, services, collector_config
    ):
        grpc_port = _otlp_receiver_ports(collector_config)["grpc"]
        for name, service_name in TRACED_HUB_SERVICES.items():
            environment = {k: str(v) for k, v in services[name]["environment"].items()}
            settings = tracing_settings(environment)  # the hub's own reading: must not raise
            assert "otlp-grpc" in settings.exporters, f"{name}: no OTLP gRPC exporter"
            assert settings.endpoint is not None, f"{name}: FACTORHUB_OTEL_ENDPOINT is unset"
            assert _host_port(settings.endpoint) == (COLLECTOR, grpc_port), name
            assert settings.service_name == service_name
            assert "deployment.environment.name" in (settings.resource_attributes or {})

    def test_the_simulators_get_the_standard_otel_variables_pointing_at_the_collector(
        self, services, collector_config
    ):
        environment = {k: str(v) for k, v in services["simulators"]["environment"].items()}
        settings = export_settings(environment)  # the simulators' own reading

        assert settings is not None, "the simulators' OTEL_* variables leave tracing off"
        port = _otlp_receiver_ports(collector_config)[settings.protocol.split("/")[0]]
        assert settings.endpoint is not None
        assert _host_port(settings.endpoint) == (COLLECTOR, port)
        assert settings.service_name == "factorhub-simulators"

    def test_every_service_that_traces_starts_after_the_collector(self, services):
        for name in [*TRACED_HUB_SERVICES, "simulators"]:
            assert COLLECTOR in _depends_on(services[name]), (
                f"{name} does not wait for the collector"
            )


class TestDockerfile:
    def test_the_dockerfile_entrypoint_is_factorhub(self):
        entrypoints = [
            args for keyword, args in _dockerfile_instructions() if keyword == "ENTRYPOINT"
        ]
        assert entrypoints, "the Dockerfile has no ENTRYPOINT"
        assert json.loads(entrypoints[-1]) == ["factorhub"]

    def test_the_runtime_stage_runs_as_a_non_root_user(self):
        users = [
            args for keyword, args in _final_stage(_dockerfile_instructions()) if keyword == "USER"
        ]
        assert users, "the runtime stage never switches away from root"
        assert users[-1].split(":", 1)[0] not in {"root", "0"}

    def test_the_build_context_ignores_the_virtualenv_and_local_state(self):
        patterns = {
            line.strip()
            for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        }
        missing = {".venv", "var", ".git"} - patterns
        assert not missing, f".dockerignore should exclude {sorted(missing)}"
