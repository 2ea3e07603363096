"""A real bank as a delivery folder: the PKDD'99 Czech "Berka" data set under the contract.

``../shared/realdata/berka`` holds a real retail bank's clients, accounts and (partial)
transactions of 1993-1994 (provenance in its README). This module writes them as that bank's
core system would deliver them under the landing contract, so the pipeline and the benchmark
run on a bank whose shapes the project did not generate: one account per household, overdrafts,
monthly interest and statement fees, Czech koruna converted through ``fx_rates``, no wealth
products (the required wealth feeds come header-only) and no CRM (the optional feeds are
absent, the RM reference is header-only).

What is the data set's and what is this module's:
- every amount, balance, date and transaction is the data set's; all dates move on by
  ``year_shift`` years (1994 -> 2026 by default), so that the project's calendar, rules and
  history, which start in 2004, cover them; days and months stay as they were;
- a balance is the ``balance`` after the account's last transaction on or before the day
  (the data set has no balance file); an account with none yet has 0;
- the client's name (``Klient <id>``) and id number (``<birth number>/<id>``) are made
  up, as the data set carries neither; the birth number gives birth date and gender;
- ``copies`` repeats the bank with its own client, account and transaction numbers per copy
  (a bank of that many alike networks), the only way this data set reaches 1M clients;
- one rate for CZK (``CNY_PER_CZK``, about the 1994 cross rate through USD).

Only complete days are delivered: the transactions stop at 1994-03-30 (the README), so
``end`` may be at most that day.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl

from clientmart.generator.writers import write_control
from ingest.spec import load_feeds

SOURCE = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "berka"
LAST_COMPLETE_DAY = dt.date(1994, 3, 30)
CNY_PER_CZK = Decimal("0.2950")
HEAD_OFFICE = "CZ000"
PRODUCTS = {  # the account's statement frequency names its product
    "POPLATEK MESICNE": ("CZCA1", "Current account, monthly statement"),
    "POPLATEK TYDNE": ("CZCA2", "Current account, weekly statement"),
    "POPLATEK PO OBRATU": ("CZCA3", "Current account, statement after each transaction"),
}
# the contract's (txn_type, channel) of a transaction: by its k_symbol, else by its operation
BY_K_SYMBOL = {
    "UROK": ("interest", "auto"),
    "SANKC. UROK": ("fee", "auto"),
    "SLUZBY": ("fee", "auto"),
    "DUCHOD": ("pension_credit", "auto"),
    "SIPO": ("utility_autopay", "auto"),
}
BY_OPERATION = {
    "VYBER KARTOU": ("card", "atm"),
    "VKLAD": ("cash", "counter"),
    "VYBER": ("cash", "counter"),
    "PREVOD Z UCTU": ("transfer", "online"),
    "PREVOD NA UCET": ("transfer", "online"),
}
OTHER = ("other", "counter")


def read_source(source: Path = SOURCE) -> dict[str, pl.DataFrame]:
    """The data set's tables (``;``-separated, quoted), typed."""

    def asc(name: str, **kwargs: object) -> pl.DataFrame:
        return pl.read_csv(source / name, separator=";", infer_schema_length=None, **kwargs)

    berka_date = pl.col("date").cast(pl.Utf8).str.strptime(pl.Date, "%y%m%d")
    trans = asc(
        "trans_partial_first49102rows.asc",
        schema_overrides={"amount": pl.Utf8, "balance": pl.Utf8, "account": pl.Utf8},
    )
    district = asc("district.asc").select(
        pl.col("A1").alias("district_id"),
        pl.col("A2").alias("district"),
        pl.col("A3").alias("region"),
    )
    return {
        "district": district,
        "client": asc("client.asc", schema_overrides={"birth_number": pl.Utf8}),
        "account": asc("account.asc").with_columns(berka_date.alias("open_date")),
        "disp": asc("disp.asc"),
        "trans": trans.with_columns(
            berka_date.alias("txn_date"),
            pl.col("amount").str.to_decimal(scale=2),
            pl.col("balance").str.to_decimal(scale=2),
        ),
    }


def _moved(expr: pl.Expr, years: int) -> pl.Expr:
    return expr.dt.offset_by(f"{years}y")


def _copies(frame: pl.DataFrame, copies: int, ids: dict[str, int]) -> pl.DataFrame:
    """``frame`` once per copy; each column of ``ids`` becomes ``<copy:03d><id:0{width}d>``."""
    copy = pl.DataFrame({"_copy": pl.int_range(0, copies, eager=True)})
    out = frame.join(copy, how="cross")
    return out.with_columns(
        (
            pl.col("_copy").cast(pl.Utf8).str.zfill(3)
            + pl.col(column).cast(pl.Utf8).str.zfill(width)
        ).alias(column)
        for column, width in ids.items()
    ).drop("_copy")


def _deliver(
    landing: Path, feed: str, day: dt.date, frame: pl.DataFrame, *, name: str, sep: str = ","
) -> Path:
    folder = landing / feed / f"{day:%Y%m%d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    frame.write_csv(path, separator=sep, date_format="%Y%m%d" if sep == "|" else "%Y-%m-%d")
    write_control(path, frame.height)
    return path


def _header_only(landing: Path, feed: str, day: dt.date) -> Path:
    """A feed with nothing to say: the contract's header and a control count of 0."""
    columns = load_feeds()[feed].names
    empty = pl.DataFrame(schema=dict.fromkeys(columns, pl.Utf8))
    return _deliver(landing, feed, day, empty, name=f"{feed}_{day:%Y%m%d}.csv")


def references(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Institutions (head office, one branch per region, one sub-branch per district), the
    three current-account products, and no RMs."""
    district = tables["district"]
    regions = district.select("region").unique().sort("region").with_row_index("n", offset=1)
    branches = regions.select(
        _region_code("n").alias("inst_code"),
        (pl.col("region") + " branch").alias("inst_name"),
        pl.lit(HEAD_OFFICE).alias("parent_code"),
        pl.lit(2).alias("inst_level"),
        pl.col("region"),
    )
    subs = district.join(regions, on="region").select(
        _district_code("district_id").alias("inst_code"),
        pl.col("district").alias("inst_name"),
        _region_code("n").alias("parent_code"),
        pl.lit(3).alias("inst_level"),
        pl.col("region"),
    )
    head = pl.DataFrame(
        {
            "inst_code": [HEAD_OFFICE],
            "inst_name": ["Head office"],
            "parent_code": [None],
            "inst_level": [1],
            "region": [None],
        },
        schema=branches.schema,
    )
    products = pl.DataFrame(
        {
            "product_code": [code for code, _ in PRODUCTS.values()],
            "product_name": [name for _, name in PRODUCTS.values()],
            "product_category": ["demand_deposit"] * len(PRODUCTS),
            "currency": ["CZK"] * len(PRODUCTS),
            "risk_level": [None] * len(PRODUCTS),
        }
    )
    return {
        "institutions": pl.concat([head, branches, subs.sort("inst_code")]),
        "products": products,
    }


def accounts(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per account: its owner, district, product and opening day."""
    owners = tables["disp"].filter(pl.col("type") == "OWNER").select("account_id", "client_id")
    return (
        tables["account"]
        .join(owners, on="account_id")
        .select(
            "account_id",
            "client_id",
            _district_code("district_id").alias("inst_code"),
            pl.col("frequency")
            .replace_strict({k: v[0] for k, v in PRODUCTS.items()})
            .alias("product_code"),
            "open_date",
        )
    )


def clients(tables: dict[str, pl.DataFrame], year_shift: int) -> pl.DataFrame:
    """Every client with the day their first account (owned or co-used) opened; birth date
    and gender from the birth number (YYMMDD, women's month + 50)."""
    first_open = (
        tables["disp"]
        .join(tables["account"].select("account_id", "open_date"), on="account_id")
        .group_by("client_id")
        .agg(pl.col("open_date").min())
    )
    bn = pl.col("birth_number")
    month = bn.str.slice(2, 2).cast(pl.Int32)
    return (
        tables["client"]
        .join(first_open, on="client_id")
        .with_columns(
            pl.when(month > 50).then(pl.lit("F")).otherwise(pl.lit("M")).alias("gender"),
            pl.date(
                1900 + bn.str.slice(0, 2).cast(pl.Int32),
                month % 50,
                bn.str.slice(4, 2).cast(pl.Int32),
            ).alias("birth_date"),
        )
        .select(
            "client_id",
            pl.lit("I").alias("client_type"),
            (pl.lit("Klient ") + pl.col("client_id").cast(pl.Utf8).str.zfill(6)).alias("name"),
            (bn + "/" + pl.col("client_id").cast(pl.Utf8).str.zfill(4)).alias("id_number"),
            pl.lit(None, pl.Utf8).alias("phone"),
            _moved(pl.col("birth_date"), year_shift).alias("birth_date"),
            "gender",
            "open_date",
            _district_code("district_id").alias("inst_code"),
            pl.lit(None, pl.Utf8).alias("rm_id"),
            pl.lit(None, pl.Utf8).alias("employer_client_id"),
            pl.lit(None, pl.Utf8).alias("job_title"),
        )
    )


def _kind(part: int) -> pl.Expr:
    """Part ``part`` (0 txn_type, 1 channel) of a transaction's kind."""

    def lookup(column: str, table: dict[str, tuple[str, str]]) -> pl.Expr:
        values = {key: kind[part] for key, kind in table.items()}
        return pl.col(column).replace_strict(values, default=None, return_dtype=pl.Utf8)

    return pl.coalesce(
        lookup("k_symbol", BY_K_SYMBOL), lookup("operation", BY_OPERATION), pl.lit(OTHER[part])
    )


def _district_code(column: str) -> pl.Expr:
    return pl.lit("CZD") + pl.col(column).cast(pl.Utf8).str.zfill(2)


def _region_code(column: str) -> pl.Expr:
    return pl.lit("CZR") + pl.col(column).cast(pl.Utf8).str.zfill(2)


def transactions(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The transactions with the contract's direction, type and channel."""
    trans = tables["trans"]
    return trans.select(
        pl.col("trans_id").alias("txn_id"),
        "txn_date",
        "account_id",
        "amount",
        pl.when(pl.col("type") == "PRIJEM")
        .then(pl.lit("C"))
        .otherwise(pl.lit("D"))
        .alias("direction"),
        _kind(0).alias("txn_type"),
        _kind(1).alias("channel"),
        pl.when(pl.col("bank").is_not_null())
        .then(pl.col("bank") + " " + pl.col("account"))
        .otherwise(None)
        .alias("counterparty"),
        "balance",
    )


def deliver_berka(
    landing: Path,
    start: dt.date,
    end: dt.date,
    *,
    copies: int = 1,
    year_shift: int = 32,
    source: Path = SOURCE,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write the business dates ``start..end`` (the data set's own dates) to ``landing``,
    moved on by ``year_shift`` years. Returns record counts per feed."""
    if end > LAST_COMPLETE_DAY or start > end:
        raise ValueError(f"dates must satisfy start <= end <= {LAST_COMPLETE_DAY}")
    tables = read_source(source)
    refs = references(tables)
    acc = accounts(tables)
    txns = transactions(tables).join(acc.select("account_id", "client_id"), on="account_id")
    cli = clients(tables, year_shift)
    counts: dict[str, int] = {}

    def moved(day: dt.date) -> dt.date:
        return pl.select(_moved(pl.lit(day), year_shift)).item()

    def add(feed: str, n: int) -> None:
        counts[feed] = counts.get(feed, 0) + n

    first = moved(start)
    for feed, frame in refs.items():
        _deliver(landing, feed, first, frame, name=f"{feed}_{first:%Y%m%d}.csv")
        add(feed, frame.height)
    _header_only(landing, "relationship_managers", first)
    ids = {"client_id": 7}
    held = (  # closing balance of every account with a transaction before ``start``
        txns.filter(pl.col("txn_date") < start)
        .sort("txn_date", "txn_id")
        .group_by("account_id")
        .agg(pl.col("balance").last())
    )
    day = start
    while day <= end:
        out = moved(day)
        new = (
            cli.filter(pl.col("open_date") <= day)
            if day == start
            else cli.filter(pl.col("open_date") == day)
        )
        frame = _copies(new.sort("client_id"), copies, ids).with_columns(
            _moved(pl.col("open_date"), year_shift)
        )
        _deliver(landing, "clients", out, frame, name=f"clients_{out:%Y%m%d}.csv")
        add("clients", frame.height)

        rates = pl.DataFrame(
            {"rate_date": [out], "currency": ["CZK"], "cny_per_unit": [CNY_PER_CZK]}
        )
        _deliver(landing, "fx_rates", out, rates, name=f"fx_rates_{out:%Y%m%d}.csv")

        # the running closing balance: the day's last transaction (by number) per account
        today = txns.filter(pl.col("txn_date") == day).sort("txn_id")
        closing = today.group_by("account_id").agg(pl.col("balance").last())
        held = pl.concat([held, closing]).unique("account_id", keep="last")
        balances = (
            acc.filter(pl.col("open_date") <= day)
            .join(held, on="account_id", how="left")
            .select(
                pl.lit(out).alias("balance_date"),
                "account_id",
                "client_id",
                "inst_code",
                "product_code",
                pl.lit("CZK").alias("currency"),
                pl.col("balance").fill_null(Decimal("0.00")),
            )
        )
        frame = _copies(balances.sort("account_id"), copies, {"account_id": 7, **ids})
        _deliver(
            landing, "deposit_balances", out, frame, name=f"CZ_DEP_BAL_{out:%Y%m%d}.txt", sep="|"
        )
        add("deposit_balances", frame.height)

        today = today.drop("balance").with_columns(pl.lit(out).alias("txn_date"))
        # the contract's columns in its order; one the data set lacks (a column added to
        # the contract later) is left out, as an upstream that does not send it yet would
        frame = _copies(today, copies, {"txn_id": 8, "account_id": 7, **ids})
        contract = load_feeds()["deposit_transactions"].names
        frame = frame.select(n for n in contract if n in frame.columns)
        _deliver(
            landing,
            "deposit_transactions",
            out,
            frame,
            name=f"CZ_DEP_TXN_{out:%Y%m%d}.txt",
            sep="|",
        )
        add("deposit_transactions", frame.height)

        _header_only(landing, "wealth_holdings", out)
        _header_only(landing, "wealth_orders", out)
        if progress:
            progress(f"{out}: {counts['deposit_balances']:,} balances so far")
        day += dt.timedelta(days=1)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(1994, 1, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(1994, 2, 28))
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--year-shift", type=int, default=32)
    parser.add_argument("--source", type=Path, default=SOURCE)
    args = parser.parse_args()
    counts = deliver_berka(
        args.landing,
        args.start,
        args.end,
        copies=args.copies,
        year_shift=args.year_shift,
        source=args.source,
        progress=print,
    )
    print(counts)


if __name__ == "__main__":
    main()
