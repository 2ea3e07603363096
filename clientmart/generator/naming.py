"""Chinese names, company names, ID numbers and phones, built vectorised from small lists.

Every character here is in GBK, so any feed may be written GBK-encoded.
"""

from __future__ import annotations

import numpy as np
import polars as pl

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛"
)
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彬鹏辉斌宇浩凯建国志海波"
    "文博晓东梅子涵梓轩欣怡雨桐俊杰思远佳琪嘉怡雪婷慧敏振宏立新春生德福永庆"
)
CITIES = [
    "杭州",
    "宁波",
    "温州",
    "绍兴",
    "湖州",
    "嘉兴",
    "金华",
    "台州",
    "南京",
    "苏州",
    "无锡",
    "广州",
    "深圳",
    "成都",
    "武汉",
    "济南",
    "福州",
    "郑州",
]
TRADES = [
    "机械",
    "纺织",
    "电子",
    "化工",
    "建材",
    "食品",
    "物流",
    "贸易",
    "医药",
    "服装",
    "五金",
    "农业",
    "科技",
    "能源",
    "印刷",
    "家具",
]
SUFFIXES = ["有限公司", "股份有限公司", "集团有限公司", "实业有限公司", "制造有限公司"]
ID_REGIONS = np.array(
    [
        330102,
        330106,
        330203,
        330302,
        320102,
        320505,
        440103,
        440305,
        510104,
        420102,
        370102,
        350102,
        410102,
        330782,
        331002,
    ]
)
PHONE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        155,
        158,
        159,
        177,
        180,
        181,
        186,
        187,
        188,
        189,
    ]
)
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


def person_names(gen: np.random.Generator, n: int) -> pl.Series:
    """Two- or three-character personal names."""
    s = lookup(SURNAMES, gen.integers(0, len(SURNAMES), n))
    g1 = lookup(GIVEN, gen.integers(0, len(GIVEN), n))
    g2 = lookup(["", *GIVEN], gen.integers(1, len(GIVEN) + 1, n) * (gen.random(n) < 0.7))
    return pl.DataFrame({"s": s, "a": g1, "b": g2}).select(
        pl.concat_str(["s", "a", "b"]).alias("name")
    )["name"]


def company_names(gen: np.random.Generator, n: int, ids: np.ndarray) -> pl.Series:
    """Company names; the client number is folded in so names are unique."""
    city = lookup(CITIES, gen.integers(0, len(CITIES), n))
    trade = lookup(TRADES, gen.integers(0, len(TRADES), n))
    suffix = lookup(SUFFIXES, gen.integers(0, len(SUFFIXES), n))
    word = lookup(GIVEN, ids % len(GIVEN))
    word2 = lookup(GIVEN, (ids // len(GIVEN)) % len(GIVEN))
    return pl.DataFrame({"c": city, "w": word, "x": word2, "t": trade, "s": suffix}).select(
        pl.concat_str(["c", "w", "x", "t", "s"]).alias("name")
    )["name"]


def id_numbers(gen: np.random.Generator, birth_days: np.ndarray) -> pl.Series:
    """18-character resident ID numbers with a valid ISO 7064 check character.

    ``birth_days`` are numpy datetime64[D] values.
    """
    n = len(birth_days)
    region = ID_REGIONS[gen.integers(0, len(ID_REGIONS), n)]
    days = birth_days.astype("datetime64[D]")
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month = (days.astype("datetime64[M]") - days.astype("datetime64[Y]")).astype(np.int64) + 1
    day = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    ymd_int = year * 10000 + month * 100 + day
    seq = gen.integers(1, 1000, n)
    body = region.astype(np.int64) * 10**11 + ymd_int * 1000 + seq  # 17 digits
    total = np.zeros(n, dtype=np.int64)
    rest = body.copy()
    for weight in _ID_WEIGHTS[::-1]:  # digit by digit, least significant first
        total += (rest % 10) * weight
        rest //= 10
    check = lookup(list("10X98765432"), total % 11)
    return pl.DataFrame({"b": body, "c": check}).select(
        pl.concat_str([pl.col("b").cast(pl.Utf8), "c"]).alias("id")
    )["id"]


def credit_codes(ids: np.ndarray) -> pl.Series:
    """Unified social credit codes (18 characters) for companies."""
    return coded("91330100", ids, 10)


def phones(gen: np.random.Generator, n: int) -> pl.Series:
    prefix = PHONE_PREFIXES[gen.integers(0, len(PHONE_PREFIXES), n)]
    rest = gen.integers(0, 10**8, n)
    return pl.DataFrame({"p": prefix, "r": rest}).select(
        (pl.col("p").cast(pl.Utf8) + pl.col("r").cast(pl.Utf8).str.zfill(8)).alias("phone")
    )["phone"]


def coded(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    """Identifiers such as ``C0000000042``: a prefix and a zero-padded number."""
    return pl.DataFrame({"n": numbers}).select(
        (pl.lit(prefix) + pl.col("n").cast(pl.Utf8).str.zfill(width)).alias("id")
    )["id"]


def lookup(values: list[str | None] | np.ndarray, idx: np.ndarray) -> pl.Series:
    """``values[idx]`` as a polars string Series (fast: no numpy unicode arrays involved)."""
    vocab = values.tolist() if isinstance(values, np.ndarray) else values
    return pl.Series(vocab, dtype=pl.Utf8).gather(np.asarray(idx, dtype=np.int64))
