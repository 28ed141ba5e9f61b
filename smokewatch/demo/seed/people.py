"""Synthetic people, places and phone numbers for the demo: plausible, never real.

Names are drawn from common Chinese surnames and given names; villages, streets and house
numbers are invented. Phone numbers are 11 digits starting ``1000000``: no Chinese mobile
number begins with ``10``, so a demo message can never reach a real person even if a real SMS
channel were configured by mistake.
"""

from __future__ import annotations

import random
from typing import Final

TEST_PHONE_PREFIX: Final = "1000000"
TEST_PHONE_DIGITS: Final = 11

SURNAMES: Final = (
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭",
)  # fmt: skip
_ELDER_WOMEN: Final = (
    "秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "素珍", "淑珍", "玉珍", "凤兰", "秀珍", "兰英",
)  # fmt: skip
_ELDER_MEN: Final = (
    "建国", "德明", "振华", "守义", "庆海", "长福", "广田", "世荣", "兴旺", "树林", "永成", "宝山",
)  # fmt: skip
_YOUNGER: Final = (
    "伟", "静", "磊", "敏", "强", "丽", "军", "燕", "勇", "艳", "杰", "娟", "涛", "明", "超", "霞",
    "晓东", "海燕", "建华", "丽娟", "志刚", "红梅", "文博", "雪梅",
)  # fmt: skip


class PhoneBook:
    """Hands out unique phone numbers in the reserved test range, in a fixed order."""

    def __init__(self) -> None:
        self._next = 1

    def take(self) -> str:
        """The next unused test number, e.g. ``10000000001``."""
        number = f"{TEST_PHONE_PREFIX}{self._next:04d}"
        self._next += 1
        if len(number) != TEST_PHONE_DIGITS:
            raise ValueError("the demo ran out of test phone numbers")
        return number


def is_test_phone(number: str | None) -> bool:
    """True for a number in the demo's reserved range (None counts: no number at all)."""
    return number is None or (
        len(number) == TEST_PHONE_DIGITS and number.startswith(TEST_PHONE_PREFIX)
    )


def elder_name(rng: random.Random, *, woman: bool) -> str:
    """An elderly person's name."""
    return rng.choice(SURNAMES) + rng.choice(_ELDER_WOMEN if woman else _ELDER_MEN)


def younger_name(rng: random.Random, surname: str | None = None) -> str:
    """A child, neighbour, cadre or worker; ``surname`` keeps a family's name."""
    return (surname or rng.choice(SURNAMES)) + rng.choice(_YOUNGER)
