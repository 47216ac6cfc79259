"""Reading docker-compose.yml and .env.example, and interpolating variables the way Compose
does: shared by tests/test_operations.py and tests/test_parity.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def env_example_values() -> dict[str, str]:
    """The variables .env.example sets (uncommented lines)."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def env_example_names() -> set[str]:
    """Every variable .env.example lists, set or commented out (``# NAME=...``)."""
    pattern = re.compile(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
    return set(pattern.findall(ENV_EXAMPLE.read_text()))


_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable interpolation: ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?error}``, ``${VAR?error}``, ``$VAR`` and ``$$``."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        value = env.get(name)
        op, arg = match.group("op"), match.group("arg") or ""
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise ValueError(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def variables_used(node: Any) -> set[str]:
    """Every variable the compose file interpolates."""
    if isinstance(node, dict):
        return set().union(*(variables_used(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(variables_used(v) for v in node))
    if isinstance(node, str):
        return {m.group("name") or m.group("bare") for m in _VARIABLE.finditer(node)} - {None}
    return set()


def service_environment(service: str, env: Mapping[str, str]) -> dict[str, str]:
    """The environment Compose gives a service's container, from the operator's ``env`` (the
    .env file): values interpolated, and a variable listed without a value passed on only
    when ``env`` sets it."""
    given = compose()["services"][service].get("environment") or {}
    result: dict[str, str] = {}
    for name, value in given.items():
        if value is None:
            if name in env:
                result[name] = env[name]
        else:
            result[name] = interpolate(str(value), env)
    return result


def service_secrets(service: str, env: Mapping[str, str]) -> dict[str, Path]:
    """The secrets Compose mounts into a service's container: ``/run/secrets/<name>`` and
    the operator's file behind it (interpolated, relative to the compose file)."""
    secrets = compose().get("secrets") or {}
    listed = compose()["services"][service].get("secrets") or []
    mounted: dict[str, Path] = {}
    for name in listed:
        source = Path(interpolate(str(secrets[name]["file"]), env))
        mounted[f"/run/secrets/{name}"] = source if source.is_absolute() else ROOT / source
    return mounted


def filled_env_example(**overrides: str) -> dict[str, str]:
    """An operator's .env: .env.example with every secret filled in."""
    env = env_example_values()
    for name, value in env.items():
        if value == "":
            env[name] = f"{name.lower().replace('_', '-')}-0123456789abcdef"
    env["HACKATHON_ORGANIZER_EMAIL"] = "organizer@example.org"
    env.update(overrides)
    return env
