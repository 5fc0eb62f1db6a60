"""Static checks of docker-compose.yml, the Dockerfile and .dockerignore.

There is no Docker engine on the build machines, so the stack is never started here. Instead the
compose file is validated against the Compose Specification JSON schema kept in the shared folder
beside the repository (``../shared/schemas/compose/compose-spec.json``), and a few wiring rules
that the schema cannot express are checked directly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
SCHEMA_FILE = REPO_ROOT.parent / "shared" / "schemas" / "compose" / "compose-spec.json"

HUB_SERVICES = frozenset({"migrate", "ingress", "worker", "simulators"})
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
        expected = {"kafka", "rabbitmq", "postgres"} | HUB_SERVICES
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
