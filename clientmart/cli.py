"""The ``clientmart`` console script.

Each command is a thin shell over a library function so that the same work runs from the
CLI, from Dagster and from tests. Heavy imports (Dagster, dbt) happen inside the commands to
keep ``clientmart --help`` fast.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from clientmart.settings import Settings


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD or YYYYMMDD")


def _settings(landing: Path | None, home: Path | None) -> Settings:
    overrides: dict[str, object] = {}
    if home is not None:
        overrides["home"] = home
    if landing is not None:
        overrides["landing_root"] = landing
    return Settings(**overrides)


landing_option = click.option(
    "--landing",
    type=click.Path(path_type=Path),
    default=None,
    help="Landing root (default: $CLIENTMART_LANDING_ROOT or <home>/landing).",
)
home_option = click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    help="Base folder for everything the pipeline writes (default: $CLIENTMART_HOME or ./data).",
)


@click.group()
@click.version_option(package_name="clientmart")
def main() -> None:
    """clientmart: nightly client data warehouse for a bank."""


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Landing root to write (default: the configured landing root).")
@click.option("--clients", type=int, default=2000, show_default=True, help="Number of clients.")
@click.option("--start", callback=_date, default="2026-10-01", show_default=True,
              help="First business date.")
@click.option("--end", callback=_date, default="2026-10-31", show_default=True,
              help="Last business date (inclusive).")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option("--dirty-rate", type=float, default=0.0, show_default=True,
              help="Share of records made bad on purpose (see README: the kinds of bad record).")
@home_option
def generate(out: Path | None, clients: int, start: dt.date, end: dt.date, seed: int,
             dirty_rate: float, home: Path | None) -> None:
    """Generate a deterministic sample bank as landing files with control files."""
    from clientmart.generator.bank import generate_bank

    target = out or _settings(None, home).landing
    summary = generate_bank(target, clients=clients, start=start, end=end, seed=seed,
                            dirty_rate=dirty_rate, progress=click.echo)
    click.echo(summary.describe())
