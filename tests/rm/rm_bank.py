"""A tiny, hand-made bank for the RM attainment tests.

Why hand-made: the expected attainment figures must come from an independent reading of what
was delivered, so this module writes landing files (the landing contract's layout, with
control files) from plain Python records and also answers the expected sums from the same
records, without ingest or dbt. It covers the cases the marts must get right: a month
without targets (November 2026), a corrected target, a cancelled order, an order corrected
to cancelled by a re-delivery, a redemption, an order without a selling RM, weekend activity,
pipeline snapshots, and dates beyond the holiday library's coverage (January 2027).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

D = dt.date
BANK_DATES = [D(2026, 11, 28) + dt.timedelta(days=n) for n in range(9)] + [
    D(2027, 1, 4),
    D(2027, 1, 5),
]

INSTITUTIONS = [
    ("HO", "Head office", "", 1),
    ("BR1", "Branch one", "HO", 2),
    ("SB1", "Sub-branch one", "BR1", 3),
    ("SB2", "Sub-branch two", "BR1", 3),
    ("OUT1", "Outlet one", "SB1", 4),
]
PRODUCTS = [
    ("DEP_D", "Demand deposit", "demand_deposit", ""),
    ("FUND1", "Equity fund", "fund", "R3"),
    ("WMP1", "Wealth product", "wmp", "R2"),
    ("BOND1", "Treasury bond", "bond", "R1"),
    ("GOLD1", "Gold bar", "precious_metal", "R2"),
    ("INS1", "Annuity", "insurance", "R2"),
]
PRODUCT_CATEGORY = {code: category for code, _, category, _ in PRODUCTS}
RMS = [("RM01", "OUT1"), ("RM02", "SB2"), ("RM03", "BR1")]


@dataclass(frozen=True)
class Client:
    client_id: str
    rm_id: str
    inst_code: str
    open_date: dt.date
    gender: str
    birth_date: dt.date


CLIENTS = [
    Client("C001", "RM01", "OUT1", D(2020, 3, 1), "M", D(1980, 12, 15)),
    Client("C002", "RM01", "OUT1", D(2021, 5, 9), "F", D(1975, 1, 20)),
    Client("C003", "RM02", "SB2", D(2019, 7, 1), "F", D(1990, 6, 30)),
    Client("C004", "RM02", "SB2", D(2018, 2, 2), "M", D(1962, 12, 3)),
    Client("C005", "RM03", "BR1", D(2022, 9, 9), "M", D(1985, 4, 4)),
    Client("C006", "RM01", "OUT1", D(2023, 1, 3), "F", D(1999, 9, 9)),
    Client("C007", "RM01", "OUT1", D(2024, 8, 8), "M", D(2001, 1, 1)),
    Client("C010", "RM01", "OUT1", D(2026, 12, 2), "F", D(1995, 2, 2)),
    Client("C011", "RM01", "OUT1", D(2026, 12, 3), "M", D(1970, 3, 3)),
]

# (order_id, trade_date, client_id, product_code, rm_id, side, amount, status)
ORDERS = [
    ("O00", D(2026, 11, 30), "C001", "FUND1", "RM01", "buy", "50000.00", "filled"),
    ("O01", D(2026, 12, 1), "C001", "FUND1", "RM01", "buy", "100000.00", "filled"),
    ("O02", D(2026, 12, 2), "C002", "INS1", "RM01", "buy", "50000.00", "filled"),
    ("O03", D(2026, 12, 2), "C001", "WMP1", "RM01", "buy", "80000.00", "filled"),
    ("O04", D(2026, 12, 3), "C003", "BOND1", "RM02", "buy", "200000.00", "filled"),
    ("O05", D(2026, 12, 3), "C003", "FUND1", "RM02", "redeem", "30000.00", "filled"),
    ("O06", D(2026, 12, 4), "C004", "GOLD1", "RM02", "buy", "15000.00", "cancelled"),
    ("O07", D(2026, 12, 4), "C005", "FUND1", "", "buy", "40000.00", "filled"),
    ("O08", D(2026, 12, 5), "C001", "GOLD1", "RM01", "buy", "12345.67", "filled"),
    ("O09", D(2027, 1, 4), "C001", "FUND1", "RM01", "buy", "70000.00", "filled"),
]
# Re-delivered (same file, same date) after the first load: O03 was cancelled.
ORDER_CORRECTIONS = {"O03": "cancelled"}
ORDER_HEADER = [
    "order_id",
    "trade_date",
    "client_id",
    "product_code",
    "rm_id",
    "side",
    "amount",
    "status",
]

# (delivery date, month, rm_id, metric, target_value)
TARGETS = [
    (D(2026, 12, 1), "2026-12", "RM01", "investment_sales", "2290000"),
    (D(2026, 12, 1), "2026-12", "RM01", "insurance_premium", "500000"),
    (D(2026, 12, 1), "2026-12", "RM01", "deposit_growth", "1000000"),
    (D(2026, 12, 1), "2026-12", "RM01", "new_clients", "3"),
    (D(2026, 12, 1), "2026-12", "RM01", "activity_count", "20"),
    (D(2026, 12, 1), "2026-12", "RM02", "investment_sales", "1000000"),
    (D(2026, 12, 1), "2026-12", "RM03", "investment_sales", "800000"),
    (D(2026, 12, 2), "202612", "RM02", "investment_sales", "1200000"),
]

# snapshot date -> (opportunity_id, rm_id, client_id, category, amount, stage, close, status)
PIPELINE = {
    D(2026, 11, 30): [
        ("P5", "RM01", "C006", "fund", "300000", "committed", D(2026, 12, 10), "open"),
        ("P6", "RM01", "C007", "fund", "200000", "early", D(2026, 11, 30), "open"),
    ],
    D(2026, 12, 1): [
        ("P1", "RM01", "C001", "fund", "500000", "committed", D(2026, 12, 15), "open"),
        ("P2", "RM01", "C002", "insurance", "100000", "considering", D(2026, 12, 20), "open"),
        ("P3", "RM01", "C006", "wmp", "300000", "early", D(2027, 1, 10), "open"),
        ("P4", "RM01", "C007", "fund", "200000", "committed", D(2026, 12, 10), "won"),
    ],
    D(2026, 12, 3): [
        ("P1", "RM01", "C001", "fund", "400000", "committed", D(2026, 12, 15), "open"),
        ("P2", "RM01", "C002", "insurance", "100000", "considering", D(2026, 12, 20), "open"),
    ],
}
STAGE_WEIGHTS = {
    "committed": Decimal("0.9"),
    "considering": Decimal("0.5"),
    "early": Decimal("0.2"),
}

# (contact_id, rm_id, client_id, contact_date, familiarity, attitude)
CONTACTS = [
    ("K01", "RM01", "C001", D(2026, 12, 1), 7, "positive"),
    ("K02", "RM01", "C001", D(2026, 12, 3), 8, "neutral"),
    ("K03", "RM01", "C002", D(2026, 12, 1), 3, "resistant"),
    ("K04", "RM01", "C006", D(2026, 12, 2), 6, "positive"),
    ("K05", "RM01", "C007", D(2026, 12, 2), 2, "neutral"),
    ("K06", "RM02", "C003", D(2026, 12, 3), 5, "positive"),
    ("K07", "RM02", "C004", D(2026, 12, 4), 0, "neutral"),
    ("K08", "RM03", "C001", D(2026, 12, 4), 9, "positive"),
]


def balance(client: Client, day: dt.date) -> Decimal | None:
    """End-of-day CNY balance of the client's one demand account (None before opening)."""
    if day < client.open_date:
        return None
    number = int(client.client_id[1:])
    return Decimal(10000 * number + 100 * number * (day - D(2026, 11, 28)).days)


def _write(folder: Path, name: str, header: list[str], rows: list[list[object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
    (folder / f"{name}.ok").write_text(f"{len(rows)}\n")
    return path


def write_day(landing: Path, day: dt.date, corrected: bool = False) -> None:
    """Write every feed's files for one business date (orders with corrections if asked)."""
    ymd = day.strftime("%Y%m%d")

    def folder(feed: str) -> Path:
        return landing / feed / ymd

    if day == BANK_DATES[0]:
        _write(
            folder("institutions"),
            "institutions.csv",
            ["inst_code", "inst_name", "parent_code", "inst_level", "region"],
            [[c, n, p, lvl, "north"] for c, n, p, lvl in INSTITUTIONS],
        )
        _write(
            folder("products"),
            "products.csv",
            ["product_code", "product_name", "product_category", "currency", "risk_level"],
            [[c, n, cat, "CNY", risk] for c, n, cat, risk in PRODUCTS],
        )
        _write(
            folder("relationship_managers"),
            "rms.csv",
            ["rm_id", "rm_name", "inst_code", "status"],
            [[rm, f"Manager {rm}", inst, "active"] for rm, inst in RMS],
        )
    _write(
        folder("fx_rates"),
        "fx.csv",
        ["rate_date", "currency", "cny_per_unit"],
        [[day.isoformat(), "USD", "7.100000"]],
    )
    new_clients = [
        c for c in CLIENTS if day == BANK_DATES[0] and c.open_date <= day or c.open_date == day
    ]
    _write(
        folder("clients"),
        "clients.csv",
        [
            "client_id",
            "client_type",
            "name",
            "id_number",
            "phone",
            "birth_date",
            "gender",
            "open_date",
            "inst_code",
            "rm_id",
            "employer_client_id",
            "job_title",
        ],
        [
            [
                c.client_id,
                "I",
                f"Client {c.client_id}",
                f"11010119800101{c.client_id[1:]}0",
                f"1380000{c.client_id[1:]}0",
                c.birth_date.isoformat(),
                c.gender,
                c.open_date.isoformat(),
                c.inst_code,
                c.rm_id,
                "",
                "",
            ]
            for c in new_clients
        ],
    )
    _write(
        folder("deposit_balances"),
        "balances.csv",
        [
            "balance_date",
            "account_id",
            "client_id",
            "inst_code",
            "product_code",
            "currency",
            "balance",
        ],
        [
            [
                day.isoformat(),
                f"A{c.client_id}",
                c.client_id,
                c.inst_code,
                "DEP_D",
                "CNY",
                balance(c, day),
            ]
            for c in CLIENTS
            if balance(c, day) is not None
        ],
    )
    _write(
        folder("deposit_transactions"),
        "txns.csv",
        [
            "txn_id",
            "txn_date",
            "account_id",
            "client_id",
            "amount",
            "direction",
            "txn_type",
            "channel",
            "counterparty",
        ],
        [],
    )
    _write(
        folder("wealth_holdings"),
        "holdings.csv",
        ["as_of_date", "holding_id", "client_id", "product_code", "units", "market_value", "cost"],
        [[day.isoformat(), "H001", "C001", "FUND1", "1000", "10500.00", "10000.00"]],
    )
    orders = []
    for order_id, trade_date, client, product, rm, side, amount, status in ORDERS:
        if trade_date == day:
            if corrected and order_id in ORDER_CORRECTIONS:
                status = ORDER_CORRECTIONS[order_id]
            orders.append([order_id, day.isoformat(), client, product, rm, side, amount, status])
    _write(
        folder("wealth_orders"),
        "orders.csv",
        ORDER_HEADER,
        orders,
    )
    targets = [[m, rm, metric, value] for d, m, rm, metric, value in TARGETS if d == day]
    if targets:
        _write(
            folder("rm_targets"),
            "targets.csv",
            ["month", "rm_id", "metric", "target_value"],
            targets,
        )
    if day in PIPELINE:
        _write(
            folder("pipeline"),
            "pipeline.csv",
            [
                "opportunity_id",
                "rm_id",
                "client_id",
                "product_category",
                "expected_amount",
                "stage",
                "expected_close_date",
                "status",
                "created_date",
            ],
            [
                [o, rm, c, cat, amt, stage, close.isoformat(), status, "2026-11-20"]
                for o, rm, c, cat, amt, stage, close, status in PIPELINE[day]
            ],
        )
    contacts = [
        [k, rm, c, d.isoformat(), "phone", fam, att, ""]
        for k, rm, c, d, fam, att in CONTACTS
        if d == day
    ]
    if contacts:
        _write(
            folder("contacts"),
            "contacts.csv",
            [
                "contact_id",
                "rm_id",
                "client_id",
                "contact_date",
                "channel",
                "familiarity",
                "attitude",
                "note",
            ],
            contacts,
        )


def orders_with_corrections() -> list[tuple]:
    """The orders as finally delivered (the latest delivery of each order wins)."""
    return [
        (o, d, c, p, rm, side, amount, ORDER_CORRECTIONS.get(o, status))
        for o, d, c, p, rm, side, amount, status in ORDERS
    ]
