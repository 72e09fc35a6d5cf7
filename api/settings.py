"""Service configuration from ``CUSTODY_*`` environment variables, built on demand.

Nothing is read at import time: tests and the CLI build a Settings for each app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="CUSTODY_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None  # default: SQLite file in the data dir
    storage: Literal["local", "s3"] = "local"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "evidence"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_create_bucket: bool = False
    s3_part_size: int = 16 * 1024 * 1024
    s3_upload_threads: int = 4
    retention_days: float = Field(default=3650, gt=0)  # fractions allowed (tests use seconds)
    extra_digests: str = ""
    max_upload_bytes: int = Field(default=1024**4, ge=0)
    ledger_origin: str = "custody.example/ledger"
    signing_key: Path | None = None  # default: <data_dir>/signing.key
    # PDF reports are PAdES-signed. Default: a key and self-signed certificate made at first
    # start in the data dir. An agency certificate instead: PEM (REPORT_CERT with its chain,
    # REPORT_KEY) or PKCS#12 (REPORT_PKCS12); passphrases only from the environment.
    report_cert: Path | None = None
    report_key: Path | None = None
    report_key_passphrase: str | None = None
    report_pkcs12: Path | None = None
    report_pkcs12_passphrase: str | None = None
    # housekeeping: staging leftovers (and unregistered unreferenced objects) idle for
    # longer than this are swept at start-up and then every sweep interval (0: start-up only)
    staging_max_age_seconds: float = Field(default=3600, ge=0)
    sweep_interval_seconds: float = Field(default=900, ge=0)
    # resumable (tus) uploads not finished this long after their last byte are abandoned:
    # swept by the sweep above and recorded on the ledger (evidence.upload_abandoned)
    upload_expiry_seconds: float = Field(default=86400, gt=0)
    # anchoring outside our own key (issue 12): C2SP witnesses as a JSON list of
    # {"url", "key"} or "url=witnesskey,…"; RFC 3161 TSAs as {"url", "cert"} or
    # "url=certfile,…" (cert: PEM with the TSA certificate and its CA)
    witnesses: str = ""
    tsa: str = ""
    # how often the anchor signs a checkpoint of a grown ledger and submits it (and retries
    # failed witnesses, with exponential backoff up to anchor_max_backoff_seconds)
    anchor_interval_seconds: float = Field(default=30, gt=0)
    anchor_max_backoff_seconds: float = Field(default=600, gt=0)
    anchor_timeout_seconds: float = Field(default=10, gt=0)
    # a checkpoint gets a TSA token at most this often, except an export's, which always does
    tsa_interval_seconds: float = Field(default=3600, ge=0)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'custody.db').resolve()}"

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key or self.data_dir / "signing.key"

    @property
    def report_key_path(self) -> Path:
        return self.report_key or self.data_dir / "report-signing.key"

    @property
    def report_cert_path(self) -> Path:
        return self.report_cert or self.data_dir / "report-signing.crt"

    @property
    def uploads_dir(self) -> Path:
        """Where resumable uploads are staged until they are complete (both backends)."""
        return self.data_dir / "uploads"

    @property
    def admin_token_path(self) -> Path:
        return self.data_dir / "admin.token"

    @property
    def unreferenced_register_path(self) -> Path:
        """Where unreferenced objects are registered when the database cannot take it."""
        return self.data_dir / "unreferenced-objects.jsonl"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides (tests, CLI flags)."""
    return Settings(**overrides)  # type: ignore[arg-type]
