"""The short morning summary printed after a run (``clientmart summary``).

It reads the published serving copy, as a BI tool would, never the build warehouse: what it
prints is what the dashboards see.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from clientmart.serving.publish import serving_path

BRANCH_ASSETS = """
select coalesce(i.branch_name, a.branch_code, 'UNKNOWN') as branch,
       count(distinct a.client_id) as clients,
       sum(a.total_month_end_cny) as month_end_assets_cny,
       sum(a.total_daily_avg_cny) as daily_avg_assets_cny
from mart_client_assets_monthly as a
left join dim_institution as i on i.inst_code = a.branch_code
where a.month_start = ?
group by 1 order by 1
"""

TIER_COUNTS = """
select coalesce(final_tier, 'corporate:' || corporate_grade) as tier, count(*) as clients
from mart_client_tier where month_start = ? group by 1 order by 1
"""


def _table(title: str, header: tuple[str, ...], rows: list[tuple]) -> str:
    cells = [header, *[tuple(_fmt(v) for v in row) for row in rows]]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]
    lines = [title]
    for row in cells:  # first column (names) left, figures right
        lines.append(
            "  ".join(
                str(v).rjust(w) if i else str(v).ljust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
    try:
        return f"{float(value):,.2f}" if value is not None and "." in str(value) else str(value)
    except ValueError:
        return str(value)


def summarise(serving_dir: Path) -> str:
    """Clients and assets per branch and tier counts for the latest published month."""
    path = serving_path(serving_dir)
    if not path.exists():
        raise FileNotFoundError(
            f"no published serving copy at {path}: run `clientmart run` for a date first"
        )
    with duckdb.connect(str(path), read_only=True) as con:
        month, last_date = con.execute(
            "select max(month_start), max(last_business_date) from mart_client_assets_monthly"
        ).fetchone()
        if month is None:
            return f"{path}: published, but mart_client_assets_monthly is empty"
        pub = con.execute(
            "select publication_id, published_at from publication_log "
            "order by published_at desc limit 1"
        ).fetchone()
        branches = con.execute(BRANCH_ASSETS, [month]).fetchall()
        tiers = con.execute(TIER_COUNTS, [month]).fetchall()
    head = (
        f"clientmart serving copy {path}\n"
        f"publication {pub[0]} at {pub[1]}; month {month:%Y-%m}, data as of {last_date}"
    )
    return "\n\n".join(
        [
            head,
            _table(
                "Clients and assets per branch (CNY)",
                ("branch", "clients", "month-end assets", "daily-average assets"),
                branches,
            ),
            _table("Clients per tier", ("tier", "clients"), tiers),
        ]
    )
