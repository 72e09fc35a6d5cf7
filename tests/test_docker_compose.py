"""docker-compose.yml: the production stack is wired the way the service expects.

No Docker is needed: the file is parsed and checked against the real Settings model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def command_text(service: dict[str, Any]) -> str:
    parts: list[str] = []
    for field in ("entrypoint", "command"):
        value = service.get(field)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value:
            parts.append(str(value))
    return "\n".join(parts)


def test_the_stack_has_its_services(services: dict[str, Any]) -> None:
    assert {"minio", "minio-init", "postgres", "api"} <= set(services)


@pytest.mark.parametrize("name", ["minio", "minio-init", "postgres"])
def test_images_are_pinned(services: dict[str, Any], name: str) -> None:
    image = services[name]["image"]
    assert ":" in image, f"{name}: image {image!r} has no tag"
    tag = image.rsplit(":", 1)[1]
    assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"


def test_minio_images_are_release_tags(services: dict[str, Any]) -> None:
    assert re.fullmatch(r"minio/minio:RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z", services["minio"]["image"])
    assert re.fullmatch(
        r"minio/mc:RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z", services["minio-init"]["image"]
    )
    assert services["postgres"]["image"].startswith("postgres:16")


def test_minio_serves_data_with_console_and_healthcheck(services: dict[str, Any]) -> None:
    minio = services["minio"]
    assert "server /data" in command_text(minio)
    assert "--console-address :9001" in command_text(minio)
    assert any(str(v).endswith(":/data") for v in minio["volumes"])
    assert minio.get("healthcheck", {}).get("test")


def test_bucket_is_created_with_object_lock(services: dict[str, Any]) -> None:
    init = services["minio-init"]
    script = command_text(init)
    assert re.search(r"mc mb\b[^\n]*--with-lock", script)
    # nothing that would weaken the lock or expose the evidence
    for weakening in (
        "retention clear",
        "legalhold clear",
        "version suspend",
        "anonymous set public",
        "anonymous set download",
        "--bypass",
        "rm ",
    ):
        assert weakening not in script, weakening
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"


def test_bucket_name_matches_the_api(services: dict[str, Any]) -> None:
    script = command_text(services["minio-init"])
    match = re.search(r"mc mb\b[^\n]*?\s(\S+)/(\S+)\s*$", script, re.MULTILINE)
    assert match, script
    assert match.group(2) == environment(services["api"])["CUSTODY_S3_BUCKET"]


def test_api_environment_names_only_real_settings(services: dict[str, Any]) -> None:
    env = environment(services["api"])
    custody_keys = [k for k in env if k.startswith("CUSTODY_")]
    assert custody_keys
    unknown = [
        k for k in custody_keys if k.removeprefix("CUSTODY_").lower() not in Settings.model_fields
    ]
    assert unknown == [], f"not fields of api.settings.Settings: {unknown}"


def test_api_runs_on_s3_and_postgresql(services: dict[str, Any]) -> None:
    api = services["api"]
    env = environment(api)
    assert env["CUSTODY_STORAGE"] == "s3"
    assert env["CUSTODY_S3_ENDPOINT"] == "minio:9000"
    assert env["CUSTODY_S3_SECURE"].lower() == "false"
    assert env["CUSTODY_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["CUSTODY_DATABASE_URL"]
    assert env["CUSTODY_DATA_DIR"] == "/var/lib/custody"
    assert int(env["CUSTODY_RETENTION_DAYS"]) >= 1
    assert env["CUSTODY_LEDGER_ORIGIN"]
    assert "custody serve --host 0.0.0.0 --port 8000" in command_text(api)
    assert api["build"] == "." or api["build"].get("context") == "."
    assert any(str(p).endswith("8000:8000") or str(p) == "8000" for p in api["ports"])
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert api["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert any(str(v).endswith(":/var/lib/custody") for v in api["volumes"])


def test_environment_values_parse_as_settings(services: dict[str, Any]) -> None:
    env = environment(services["api"])
    values = {
        k.removeprefix("CUSTODY_").lower(): re.sub(r"\$\{[^}]*\}", "x", v)
        for k, v in env.items()
        if k.startswith("CUSTODY_")
    }
    settings = Settings(**values)  # type: ignore[arg-type]
    assert settings.storage == "s3"
    assert settings.s3_secure is False


def test_database_credentials_match(services: dict[str, Any]) -> None:
    pg = environment(services["postgres"])
    url = environment(services["api"])["CUSTODY_DATABASE_URL"]
    match = re.fullmatch(r"postgresql\+psycopg://([^:@/]+):(.+)@postgres:5432/([^/?]+)", url)
    assert match, url
    user, password, database = match.groups()
    assert (user, password, database) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )
    assert services["postgres"].get("healthcheck", {}).get("test")
    assert any(
        str(v).endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"]
    )


def test_s3_credentials_match(services: dict[str, Any]) -> None:
    minio = environment(services["minio"])
    init = environment(services["minio-init"])
    api = environment(services["api"])
    assert api["CUSTODY_S3_ACCESS_KEY"] == minio["MINIO_ROOT_USER"] == init["MINIO_ROOT_USER"]
    assert (
        api["CUSTODY_S3_SECRET_KEY"] == minio["MINIO_ROOT_PASSWORD"] == init["MINIO_ROOT_PASSWORD"]
    )


def test_no_secret_is_written_into_the_file(services: dict[str, Any]) -> None:
    """Passwords come from the operator's environment, never a default in the repository."""
    for value in (
        environment(services["minio"])["MINIO_ROOT_PASSWORD"],
        environment(services["postgres"])["POSTGRES_PASSWORD"],
    ):
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", value), value


def test_declared_volumes_are_used(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    assert declared
    used = {
        str(v).split(":", 1)[0]
        for service in services.values()
        for v in service.get("volumes") or []
    }
    assert declared <= used, f"declared but unused: {declared - used}"
    named = {v for v in used if not v.startswith((".", "/", "~"))}
    assert named <= declared, f"used but not declared: {named - declared}"


def test_dockerfile_runs_the_server_as_non_root() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert 'pip install ".[server]"' in text  # the base install is only the verifier
