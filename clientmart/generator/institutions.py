"""Reference data: the institution tree, products, relationship managers, FX rates.

The tree is head office -> branches -> sub-branches -> outlets, sized with the bank. Clients
and RMs sit in sub-branches and outlets; every figure rolls up to head office.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from clientmart.generator.formats import decimal_scale, scaled
from clientmart.generator.naming import person_names
from clientmart.generator.timeline import rng

BRANCH_CITIES = [
    ("杭州", "浙江"),
    ("宁波", "浙江"),
    ("南京", "江苏"),
    ("苏州", "江苏"),
    ("广州", "广东"),
    ("成都", "四川"),
    ("武汉", "湖北"),
    ("济南", "山东"),
]
SUB_NAMES = ["城东", "城西", "城南", "城北", "高新区", "开发区", "滨江", "新城"]
OUTLET_NAMES = ["中山路", "人民路", "解放路", "建设路", "文化路", "和平路"]

# code, name, category, currency, risk level
PRODUCTS: list[tuple[str, str, str, str, str | None]] = [
    ("DD_CNY", "人民币活期储蓄", "demand_deposit", "CNY", None),
    ("DD_CORP", "单位人民币活期存款", "demand_deposit", "CNY", None),
    ("TD_CNY_3M", "人民币三个月定期", "time_deposit", "CNY", None),
    ("TD_CNY_1Y", "人民币一年定期", "time_deposit", "CNY", None),
    ("TD_CNY_3Y", "人民币三年定期", "time_deposit", "CNY", None),
    ("TD_CORP", "单位人民币定期存款", "time_deposit", "CNY", None),
    ("ND_CNY_7D", "七天通知存款", "notice_deposit", "CNY", None),
    ("DD_USD", "美元活期储蓄", "demand_deposit", "USD", None),
    ("DD_EUR", "欧元活期储蓄", "demand_deposit", "EUR", None),
    ("DD_HKD", "港币活期储蓄", "demand_deposit", "HKD", None),
    ("DD_JPY", "日元活期储蓄", "demand_deposit", "JPY", None),
    ("DD_GBP", "英镑活期储蓄", "demand_deposit", "GBP", None),
    ("TD_USD_1Y", "美元一年定期", "time_deposit", "USD", None),
    ("TD_HKD_1Y", "港币一年定期", "time_deposit", "HKD", None),
    ("FD_MMF", "天天利货币基金", "fund", "CNY", "R1"),
    ("FD_BOND", "稳健债券基金", "fund", "CNY", "R2"),
    ("FD_IDX", "沪深300指数基金", "fund", "CNY", "R4"),
    ("FD_TECH", "科技成长混合基金", "fund", "CNY", "R5"),
    ("WM_90D", "安鑫理财90天", "wmp", "CNY", "R2"),
    ("WM_QTR", "季季盈理财", "wmp", "CNY", "R2"),
    ("WM_PLUS", "固收增强理财", "wmp", "CNY", "R3"),
    ("BD_SAV", "储蓄国债(凭证式)", "bond", "CNY", "R1"),
    ("BD_ELEC", "电子式储蓄国债", "bond", "CNY", "R1"),
    ("IN_ANN", "金福年金保险", "insurance", "CNY", "R2"),
    ("IN_LIFE", "增额终身寿险", "insurance", "CNY", "R2"),
    ("PM_GOLD", "积存金", "precious_metal", "CNY", "R4"),
    ("PM_BAR", "实物金条", "precious_metal", "CNY", "R3"),
    ("LN_FA", "固定资产贷款", "loan_fixed_asset", "CNY", None),
    ("LN_WC", "流动资金贷款", "loan_working_capital", "CNY", None),
    ("LN_RE", "个人住房贷款", "loan_real_estate", "CNY", None),
    ("BL_DC", "银行承兑汇票贴现", "bill_discount", "CNY", None),
    ("GT_LG", "非融资性保函", "guarantee", "CNY", None),
]
# Launched mid-period: appears in the second products snapshot (nobody holds it before).
NEW_PRODUCT = ("WM_180D", "新发理财180天", "wmp", "CNY", "R2")

FX_BASE = {"USD": 7.12, "EUR": 7.70, "HKD": 0.915, "JPY": 0.0475, "GBP": 9.05}
CURRENCIES = ["CNY", *FX_BASE]


@dataclass
class Reference:
    """Reference data and the tree, as arrays the other modules index into."""

    inst: pl.DataFrame  # typed institutions snapshot
    inst_changed: pl.DataFrame  # the mid-period snapshot (one outlet renamed, one added)
    client_insts: np.ndarray  # codes of the institutions clients and RMs belong to
    client_inst_sub: np.ndarray  # index of the sub-branch each client inst rolls up to
    rms: pl.DataFrame  # rm_id, rm_name, inst_code, status
    rm_sub: np.ndarray  # sub-branch index of each RM
    products: pl.DataFrame
    products_changed: pl.DataFrame
    fx: np.ndarray  # (days, currencies-excl-CNY) CNY per unit


def build_reference(seed: int, clients: int, n_days: int) -> Reference:
    gen = rng(seed, "reference")
    n_branch = min(len(BRANCH_CITIES), 3 + clients // 200_000)
    n_sub = 4 if clients < 100_000 else len(SUB_NAMES)
    n_out = 2 if clients < 100_000 else 4
    rows = [("HO001", "总行", None, 1, "浙江")]
    client_insts, client_inst_sub, sub_codes = [], [], []
    for b in range(n_branch):
        city, province = BRANCH_CITIES[b]
        bcode = f"BR{b + 1:02d}"
        rows.append((bcode, f"{city}分行", "HO001", 2, province))
        for s in range(n_sub):
            scode = f"SB{b + 1:02d}{s + 1:02d}"
            rows.append((scode, f"{city}{SUB_NAMES[s]}支行", bcode, 3, province))
            sub_codes.append(scode)
            client_insts.append(scode)
            client_inst_sub.append(len(sub_codes) - 1)
            for o in range(n_out):
                ocode = f"OT{b + 1:02d}{s + 1:02d}{o + 1:02d}"
                rows.append((ocode, f"{city}{OUTLET_NAMES[o]}网点", scode, 4, province))
                client_insts.append(ocode)
                client_inst_sub.append(len(sub_codes) - 1)
    schema = {
        "inst_code": pl.Utf8,
        "inst_name": pl.Utf8,
        "parent_code": pl.Utf8,
        "inst_level": pl.Int64,
        "region": pl.Utf8,
    }
    inst = pl.DataFrame(rows, schema=schema, orient="row")
    changed_rows = list(rows)
    last = changed_rows[-1]
    changed_rows[-1] = (last[0], last[1].replace("网点", "社区网点"), *last[2:])
    changed_rows.append(("OT990101", "总行营业部网点", "HO001", 4, "浙江"))
    inst_changed = pl.DataFrame(changed_rows, schema=schema, orient="row")

    per_sub = max(2, round(clients / (len(sub_codes) * 450)))
    rm_sub = np.repeat(np.arange(len(sub_codes)), per_sub)
    n_rm = len(rm_sub)
    rms = pl.DataFrame(
        {
            "rm_id": [f"RM{i + 1:05d}" for i in range(n_rm)],
            "rm_name": person_names(gen, n_rm),
            "inst_code": np.array(sub_codes)[rm_sub],
            "status": ["active"] * n_rm,
        }
    )

    pschema = {
        "product_code": pl.Utf8,
        "product_name": pl.Utf8,
        "product_category": pl.Utf8,
        "currency": pl.Utf8,
        "risk_level": pl.Utf8,
    }
    products = pl.DataFrame(PRODUCTS, schema=pschema, orient="row")
    products_changed = pl.DataFrame([*PRODUCTS, NEW_PRODUCT], schema=pschema, orient="row")

    base = np.array(list(FX_BASE.values()))
    steps = gen.normal(0, 0.003, (n_days, len(base)))
    fx = base * np.exp(np.cumsum(steps, axis=0))
    return Reference(
        inst,
        inst_changed,
        np.array(client_insts),
        np.array(client_inst_sub),
        rms,
        rm_sub,
        products,
        products_changed,
        fx,
    )


def fx_frame(ref: Reference, day_index: int, day: dt.date) -> pl.DataFrame:
    rates = ref.fx[day_index]
    return pl.DataFrame(
        {
            "rate_date": [day] * len(rates),
            "currency": list(FX_BASE),
            "cny_per_unit": scaled(rates, decimal_scale("cny_per_unit")),
        }
    )


def rms_left(ref: Reference) -> pl.DataFrame:
    """The mid-period RM snapshot: the last RM has left the bank."""
    status = ["active"] * (ref.rms.height - 1) + ["left"]
    return ref.rms.with_columns(pl.Series("status", status))
