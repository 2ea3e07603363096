"""One settings object for the whole project, read from environment variables.

Every path has a default under the project's ``data/`` folder so that the embedded default
runs on a fresh clone; production points the same variables elsewhere. Nothing deep in the
code reads the environment: callers build ``Settings`` once and pass it in.
"""

from __future__ import annotations

import secrets
import urllib.parse
from functools import cached_property
from pathlib import Path

import duckdb
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from clientmart.build_memory import AUTO, BuildMemory, build_memory

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# a DuckDB memory_limit value, e.g. "3GB" or "512 MiB"
MEMORY_LIMIT_PATTERN = r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"


class Settings(BaseSettings):
    """clientmart configuration; each field is the environment variable ``CLIENTMART_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CLIENTMART_", frozen=True)

    home: Path = Field(
        default=PROJECT_ROOT / "data",
        description="Base folder for everything the pipeline writes (default <project>/data).",
    )
    landing_root: Path | None = Field(
        default=None, description="Where upstream delivers files (default <home>/landing)."
    )
    raw_root: Path | None = Field(
        default=None, description="Raw layer, Parquet per feed and date (default <home>/raw)."
    )
    quarantine_root: Path | None = Field(
        default=None, description="Quarantined records (default <home>/quarantine)."
    )
    warehouse_path: Path | None = Field(
        default=None,
        description="Build warehouse DuckDB file, written only by the pipeline "
        "(default <home>/warehouse/build.duckdb).",
    )
    serving_dir: Path | None = Field(
        default=None,
        description="Published read-only copy for BI and Parquet exports (default <home>/serving).",
    )
    pseudonym_key_file: Path | None = Field(
        default=None,
        description="File holding the secret key for pseudonymous client keys; created with a "
        "random key on first use (default <home>/secrets/pseudonym.key). Keep it out of git.",
    )
    dagster_home: Path | None = Field(
        default=None,
        description="Dagster instance home (runs, schedules, sensors; the repo's dagster.yaml is "
        "copied there). CLI runs and `clientmart ui` share it (default <home>/dagster).",
    )
    alerts_dir: Path | None = Field(
        default=None, description="Pipeline alerts as JSON files (default <home>/alerts)."
    )
    alert_webhook_url: str | None = Field(
        default=None, description="Optional URL that receives every alert as a JSON POST."
    )
    gx_docs_dir: Path | None = Field(
        default=None,
        description="great-expectations data docs: each feed's latest validation, rendered "
        "once per date run (open index.html; default <home>/gx_docs).",
    )
    warehouse_memory_limit: str = Field(
        # auto: 3GB up to about 1.5M clients (a 1M-client night gains about 1 s under 4 GB,
        # and the run's whole process tree stays under 6 GiB), then about 2 GB per million
        # clients: one pool for dbt's four threads, so a 3M-client night spills about 4 GB
        # under 3 GB and is 16-22 s shorter under 6 GB (clientmart/build_memory.py)
        default=AUTO,
        pattern=rf"^({AUTO}|{MEMORY_LIMIT_PATTERN[1:-1]})$",
        description="DuckDB memory limit of the dbt build (memory_limit): above it DuckDB "
        "spills to <warehouse>.tmp instead of growing, so a large night cannot take the "
        "machine's memory (DuckDB's own default is 80% of RAM). 'auto': 0.65 GB per million "
        "positions (deposit accounts, loans, wealth holdings) of the latest date, at least "
        "3GB, at most a third of the memory.",
    )
    publish_memory_limit: str = Field(
        # 2GB: a month's range at 1M clients published in 98 s with a 2.25 GB peak under it,
        # against 109 s and 4.9 GB under DuckDB's default (docs/benchmark.md)
        default="2GB",
        pattern=MEMORY_LIMIT_PATTERN,
        description="DuckDB memory limit of the publish (the serving copy and the Parquet "
        "exports): above it DuckDB spills instead of growing; a publish that runs out under "
        "it fails and the previous publication stays served.",
    )
    serving_storage_version: str = Field(
        # v1.0.0: every DuckDB since 1.0 opens the file; v1.5.0 writes a night's rows with
        # about a fifth less CPU (1M clients: the publish 3.1-3.9 -> 2.5-3.0 s, docs/serving.md)
        default="v1.0.0",
        description="DuckDB storage format of the serving file (storage_compatibility_version): "
        "the oldest DuckDB that BI tools read it with, e.g. v1.0.0 (default) or v1.5.0, whose "
        "string compression makes the nightly publish faster. A change takes effect at the "
        "next publication, which writes a new file whole.",
    )
    ingest_chunk_mb: float = Field(
        # 256: the daily deposit balances of a bank of 1M clients (160-195 MB) fit in one
        # piece, which reads them 1.3-1.5 s faster than two pieces and peaks no higher
        # (docs/benchmark.md, "Ingest's pieces")
        default=256,
        gt=0,
        description="Ingest reads a delimited file in record-aligned pieces of about this many "
        "MB (decode, rules, suite and Parquet write per piece), so memory does not grow with "
        "the file; a file smaller than this is read in one piece.",
    )
    first_business_date: str = Field(
        default="2020-01-01", description="First daily partition of the Dagster assets."
    )
    timezone: str = Field(default="Asia/Shanghai", description="Time zone of the schedule.")
    schedule_cron: str = Field(default="0 2 * * *", description="Nightly backstop schedule.")
    month_schedule_cron: str = Field(
        default="30 1 * * *",
        description="Backstop of the monthly feeds (RM targets): ingests the month of yesterday "
        "when its deliveries changed, before the nightly backstop runs the date.",
    )
    dbt_target: str = Field(default="duckdb", description="dbt target (profiles.yml).")
    run_queue_wait_minutes: float = Field(
        default=120,
        ge=0,
        description="How long a CLI run waits for a run the daemon or the UI launched that is "
        "writing the warehouse (the run queue's one-writer rule) before it gives up.",
    )
    postgres_dsn: str | None = Field(
        default=None,
        description="PostgreSQL serving target (libpq connection string of the loader role, e.g. "
        "postgresql://clientmart_loader@db:5432/clientmart). When set, every publication is "
        "also loaded there with a role per institution and row-level security; off by default.",
    )

    @field_validator("*")
    @classmethod
    def _absolute(cls, value: object) -> object:
        # every path setting: a relative folder means the one under the directory the command
        # started in, for every part of the pipeline (great-expectations' stores refuse a
        # relative base, and dbt runs in its project folder)
        return value.expanduser().absolute() if isinstance(value, Path) else value

    @field_validator("serving_storage_version")
    @classmethod
    def _duckdb_knows_the_version(cls, value: str) -> str:
        try:
            duckdb.connect(config={"storage_compatibility_version": value}).close()
        except duckdb.Error as exc:
            raise ValueError(
                f"CLIENTMART_SERVING_STORAGE_VERSION={value}: not a storage version this "
                f"DuckDB ({duckdb.__version__}) writes ({str(exc)[:120]}...)"
            ) from exc
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        # refused here rather than when the first alert is sent (a night that fails)
        if not value:
            return None
        parts = urllib.parse.urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(c.isspace() for c in parts.netloc)
        ):
            raise ValueError(
                f"CLIENTMART_ALERT_WEBHOOK_URL={value}: not an http(s) URL with a host "
                "(e.g. https://hooks.example.com/clientmart)"
            )
        return value

    def _under_home(self, value: Path | None, *parts: str) -> Path:
        return Path(value) if value is not None else self.home.joinpath(*parts)

    @property
    def landing(self) -> Path:
        return self._under_home(self.landing_root, "landing")

    @property
    def raw(self) -> Path:
        return self._under_home(self.raw_root, "raw")

    @property
    def quarantine(self) -> Path:
        return self._under_home(self.quarantine_root, "quarantine")

    @property
    def warehouse(self) -> Path:
        return self._under_home(self.warehouse_path, "warehouse", "build.duckdb")

    @property
    def serving(self) -> Path:
        return self._under_home(self.serving_dir, "serving")

    @property
    def dagster(self) -> Path:
        return self._under_home(self.dagster_home, "dagster")

    @property
    def alerts(self) -> Path:
        return self._under_home(self.alerts_dir, "alerts")

    @property
    def gx_docs(self) -> Path:
        return self._under_home(self.gx_docs_dir, "gx_docs")

    @property
    def ingest_chunk_bytes(self) -> int:
        return max(1, int(self.ingest_chunk_mb * 2**20))

    @property
    def key_file(self) -> Path:
        return self._under_home(self.pseudonym_key_file, "secrets", "pseudonym.key")

    @cached_property
    def pseudonym_key(self) -> str:
        """The keyed-hash secret; generated once per installation, never committed."""
        path = self.key_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def build_memory(self) -> BuildMemory:
        """The dbt build's memory limit, and why (``auto``: from the raw layer's size)."""
        return build_memory(self.warehouse_memory_limit, self.raw)

    def dbt_env(self, memory: BuildMemory | None = None) -> dict[str, str]:
        """Environment variables the dbt project reads (profiles.yml and sources); ``memory``
        is the build's limit when the caller has chosen it already."""
        return {
            "DBT_CLIENTMART_RAW_ROOT": str(self.raw),
            "DBT_CLIENTMART_QUARANTINE_ROOT": str(self.quarantine),
            "DBT_CLIENTMART_WAREHOUSE_PATH": str(self.warehouse),
            "DBT_CLIENTMART_PSEUDONYM_KEY": self.pseudonym_key,
            "DBT_CLIENTMART_MEMORY_LIMIT": (memory or self.build_memory()).limit,
        }
