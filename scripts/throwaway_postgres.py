"""A throwaway PostgreSQL server: for the serving-target tests and the load benchmark.

Never assumed to be running: ``initdb`` and ``pg_ctl`` from the machine's PostgreSQL binaries
(``scripts/install_postgres.sh`` installs them), as the ``postgres`` system user when run as
root (initdb refuses root), listening on 127.0.0.1 only, on a free port, with its socket and
data in a temporary folder that is removed afterwards. Authentication is by password
(scram), as in production. ``serving_database`` prepares a database as a DBA would, with
``scripts/setup_postgres_serving.sh``.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

SETUP_SCRIPT = Path(__file__).resolve().parent / "setup_postgres_serving.sh"


class ServerError(RuntimeError):
    """The throwaway server could not be found, started or prepared."""


def pg_bin() -> Path:
    """The folder of initdb and pg_ctl: CLIENTMART_TEST_PG_BIN, the newest
    /usr/lib/postgresql/*/bin, or PATH."""
    override = os.environ.get("CLIENTMART_TEST_PG_BIN")
    candidates = [override] if override else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise ServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin "
        "or on PATH: run `bash scripts/install_postgres.sh` (make test does), or set "
        "CLIENTMART_TEST_PG_BIN to the folder holding them"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    bin_dir: Path
    port: int
    superuser_password: str

    def dsn(self, user: str, password: str | None, dbname: str = "postgres") -> str:
        parts = [f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}"]
        if password is not None:
            parts.append(f"password={password}")
        return " ".join(parts + ["connect_timeout=10"])

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        return self.dsn("postgres", self.superuser_password, dbname)

    def serving_database(self, name: str, loader_role: str, loader_password: str) -> str:
        """Make database ``name`` afresh (dropped if it exists) as a DBA prepares the serving
        target; return the loader's DSN."""
        with psycopg.connect(self.superuser_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        env = {
            **os.environ,
            "PSQL": str(self.bin_dir / "psql"),
            "PGPASSWORD": self.superuser_password,
            "CLIENTMART_LOADER_PASSWORD": loader_password,
        }
        done = subprocess.run(
            ["bash", str(SETUP_SCRIPT), self.superuser_dsn(), name, loader_role],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        if done.returncode != 0:
            raise ServerError(f"{SETUP_SCRIPT.name} failed for {name}: {done.stderr}")
        return self.dsn(loader_role, loader_password, name)


@contextmanager
def throwaway_server(settings: str = "") -> Iterator[PostgresServer]:
    """Start a server in a temporary folder, yield it, stop it and remove the folder.
    ``settings``: further ``-c name=value`` options for the server."""
    bin_dir = pg_bin()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="clientmart-pgtest-"))
    try:
        if as_root:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerError(
                    "running as root but there is no `postgres` system user to run initdb as: "
                    "run `bash scripts/install_postgres.sh`"
                ) from None
            os.chown(folder, owner.pw_uid, owner.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"]
        folder.chmod(0o700)
        password = secrets.token_hex(16)
        pwfile = folder / "pwfile"
        pwfile.write_text(password + "\n")
        if as_root:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)

        def run(*args: str) -> None:
            done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                log = folder / "server.log"
                tail = log.read_text()[-3000:] if log.exists() else ""
                raise ServerError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}\n{tail}")

        data = folder / "data"
        run(
            str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB "
            f"-c max_connections=40 -c deadlock_timeout=200ms {settings}"
        )
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
            "-w", "-t", "60", "-o", options, "start")  # fmt: skip
        try:
            yield PostgresServer(bin_dir, port, password)
        finally:
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
