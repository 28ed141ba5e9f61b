"""The demo programme as plain data: organisations, sites, contacts, detectors.

Jining > Rencheng > Nanzhang > ten villages and communities > three grids each; 283 households
and 131 venues spread over the grids. Everything is generated from a fixed seed, so two runs
plan exactly the same programme and writing it twice changes nothing (see write.py). The
storyline's places come first (``NZ-H0001`` is an elderly woman's kitchen, ``NZ-V0001`` a
restaurant's kitchen) so the simulator and the story director can name them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from device_sim.detector import programme_ids
from smokewatch.demo.seed.people import PhoneBook, elder_name, younger_name

HOUSEHOLDS: Final = 283
VENUES: Final = 131
DEVICE_PREFIX: Final = "NZ"
SEED: Final = 20260315
CENTRE: Final = (35.338, 116.582)  # south of Jining's centre, Rencheng district

ORG_ROOT: Final = (
    ("nz-jining", "city", "济宁市", "Jining", None),
    ("nz-rencheng", "district", "任城区", "Rencheng District", "nz-jining"),
    ("nz-nanzhang", "sub_district", "南张街道", "Nanzhang Sub-district", "nz-rencheng"),
)
# (code suffix, level, name, English name, offset of its centre in degrees)
VILLAGES: Final = (
    ("nanzhang", "community", "南张社区", "Nanzhang Community", (0.000, 0.000)),
    ("beizhang", "village", "北张村", "Beizhang Village", (0.012, 0.004)),
    ("dongzhuang", "village", "东庄村", "Dongzhuang Village", (0.004, 0.016)),
    ("xiwang", "village", "西王村", "Xiwang Village", (-0.003, -0.015)),
    ("houying", "village", "后营村", "Houying Village", (0.016, -0.010)),
    ("qianying", "village", "前营村", "Qianying Village", (-0.014, -0.006)),
    ("lilou", "village", "李楼村", "Lilou Village", (-0.011, 0.012)),
    ("liuzhuang", "village", "刘庄村", "Liuzhuang Village", (0.020, 0.015)),
    ("hexing", "community", "和兴社区", "Hexing Community", (-0.020, 0.002)),
    ("zhaozhuang", "village", "赵庄村", "Zhaozhuang Village", (0.008, -0.022)),
)
GRIDS_PER_VILLAGE: Final = 3
STREETS: Final = ("幸福路", "和平街", "建设路", "团结巷", "民生街", "振兴路", "东兴巷", "文化街")

_HOUSEHOLD_KINDS: Final = (
    ("elderly_alone", ("独居老人",)),
    ("elderly_alone", ("独居老人", "行动不便")),
    ("widowed", ("孤寡老人",)),
    ("disabled", ("残疾人", "听力障碍")),
    ("dementia", ("失智老人", "独居")),
    ("elderly_alone", ("独居老人", "高龄")),
)
_VENUE_KINDS: Final = (
    ("eatery", "家常菜馆", "后厨"),
    ("shop", "便利店", "营业区"),
    ("small_hotel", "快捷宾馆", "走廊"),
    ("internet_cafe", "网吧", "机房"),
    ("workshop", "五金加工坊", "车间"),
    ("warehouse", "物流仓库", "库房"),
    ("shared_building", "出租楼", "楼道"),
)
_HOUSEHOLD_ROOMS: Final = ("厨房", "客厅", "卧室")
_CHANNEL_BY_ROLE: Final = {
    "resident": "voice",  # elderly residents answer a call, rarely read an SMS
    "guardian": "sms",
    "family": "wechat",
    "neighbour": "voice",
    "key_holder": "sms",
    "grid_worker": "wechat",
    "village_cadre": "sms",
    "duty_desk": "wechat",
    "maintainer": "wechat",
    "installer": "sms",
}


@dataclass(frozen=True, slots=True)
class Org:
    code: str
    level: str
    name: str
    name_en: str
    parent: str | None


@dataclass(frozen=True, slots=True)
class Contact:
    """A person to page; ``site`` is a site key, else ``org`` an organisation code."""

    name: str
    role: str
    priority: int
    phone: str
    channel: str  # sms, voice or wechat: how the demo inbox shows what they receive
    site: str | None = None
    org: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    key: str  # the detector id; one detector per site in the demo
    org: str
    kind: str
    category: str
    name: str
    address: str
    latitude: float
    longitude: float
    phone: str | None
    resident_name: str | None
    situation: tuple[str, ...]
    key_holder_name: str | None
    key_holder_phone: str | None
    room: str
    notes: str


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    site: str
    room: str
    position: str
    installed_at: datetime
    installed_by: str
    commissioning: dict[str, Any]


@dataclass
class Programme:
    """Everything the seed writes."""

    orgs: list[Org] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)


def plan_programme(
    households: int = HOUSEHOLDS, venues: int = VENUES, *, seed: int = SEED
) -> Programme:
    """Plan the whole sub-district (deterministic for a given seed)."""
    rng = random.Random(seed)
    phones = PhoneBook()
    p = Programme(orgs=[Org(*row) for row in ORG_ROOT])
    grids: list[tuple[str, str, tuple[float, float]]] = []
    for suffix, level, name, name_en, offset in VILLAGES:
        village = f"nz-v-{suffix}"  # never "nz-nanzhang": that is the sub-district
        p.orgs.append(Org(village, level, name, name_en, "nz-nanzhang"))
        cadre = younger_name(rng)
        p.contacts.append(Contact(cadre, "village_cadre", 1, phones.take(), "sms", org=village))
        for g in range(1, GRIDS_PER_VILLAGE + 1):
            grid = f"{village}-g{g}"
            p.orgs.append(Org(grid, "grid", f"{name}第{g}网格", f"{name_en} grid {g}", village))
            worker = younger_name(rng)
            p.contacts.append(Contact(worker, "grid_worker", 1, phones.take(), "wechat", org=grid))
            grids.append((grid, name, offset))
    p.contacts.append(Contact("南张街道值班室", "duty_desk", 1, phones.take(), "wechat",
                              org="nz-nanzhang"))  # fmt: skip
    p.contacts.append(Contact(younger_name(rng), "maintainer", 1, phones.take(), "wechat",
                              org="nz-nanzhang"))  # fmt: skip
    installers = [younger_name(rng) for _ in range(4)]
    for name in installers:
        p.contacts.append(Contact(name, "installer", 1, phones.take(), "sms", org="nz-nanzhang"))
    names: set[tuple[str, str]] = set()
    start = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)  # installation began mid-March
    for index, (device_id, kind) in enumerate(programme_ids(DEVICE_PREFIX, households, venues)):
        grid, village_name, offset = grids[index % len(grids)]
        lat = round(CENTRE[0] + offset[0] + rng.uniform(-0.004, 0.004), 6)
        lon = round(CENTRE[1] + offset[1] + rng.uniform(-0.004, 0.004), 6)
        address = (f"山东省济宁市任城区南张街道{village_name}{rng.choice(STREETS)}"
                   f"{rng.randint(1, 120)}号")  # fmt: skip
        if kind == "household":
            site, contacts = _household(
                rng,
                phones,
                key=device_id,
                grid=grid,
                address=address,
                lat=lat,
                lon=lon,
                index=index,
            )
        else:
            site, contacts = _venue(
                rng,
                phones,
                key=device_id,
                grid=grid,
                address=address,
                lat=lat,
                lon=lon,
                index=index - households,
            )
        if (grid, site.name) in names:  # two namesakes in one grid: the file says which
            site = replace(site, name=f"{site.name}（{device_id[-4:]}）")
        names.add((grid, site.name))
        p.sites.append(site)
        p.contacts.extend(contacts)
        installed = start + timedelta(hours=index * 2.5 + rng.uniform(0, 2))
        installer = installers[index % len(installers)]
        p.devices.append(Device(
            id=device_id, site=device_id, room=site.room, position=_position(site.room),
            installed_at=installed, installed_by=installer,
            commissioning=_commissioning(rng, installed, installer, kind),
        ))  # fmt: skip
    return p


def _household(
    rng: random.Random, phones: PhoneBook, *, key: str, grid: str, address: str,
    lat: float, lon: float, index: int,
) -> tuple[Site, list[Contact]]:  # fmt: skip
    category, situation = _HOUSEHOLD_KINDS[index % len(_HOUSEHOLD_KINDS)]
    woman = index == 0 or rng.random() < 0.6
    resident = elder_name(rng, woman=woman)
    age = 82 if index == 0 else rng.randint(68, 93)
    room = "厨房" if index == 0 else _HOUSEHOLD_ROOMS[index % len(_HOUSEHOLD_ROOMS)]
    surname = resident[0]
    child, neighbour, holder = younger_name(rng, surname), younger_name(rng), younger_name(rng)
    resident_phone, holder_phone = phones.take(), phones.take()
    contacts = [
        Contact(resident, "resident", 1, resident_phone, "voice", site=key),
        Contact(child, "guardian", 1, phones.take(), "sms", site=key),
        Contact(younger_name(rng, surname), "family", 2, phones.take(), "wechat", site=key),
        Contact(neighbour, "neighbour", 1, phones.take(), "voice", site=key),
        Contact(holder, "key_holder", 1, holder_phone, "sms", site=key),
    ]
    site = Site(
        key=key, org=grid, kind="household", category=category,
        name=f"{resident}家", address=address, latitude=lat, longitude=lon,
        phone=resident_phone, resident_name=resident,
        situation=(*situation, f"{age}岁", "女" if woman else "男"),
        key_holder_name=holder, key_holder_phone=holder_phone, room=room,
        notes=f"一户一档：子女{child}在外地工作；钥匙由{holder}保管。",
    )  # fmt: skip
    return site, contacts


def _venue(
    rng: random.Random, phones: PhoneBook, *, key: str, grid: str, address: str,
    lat: float, lon: float, index: int,
) -> tuple[Site, list[Contact]]:  # fmt: skip
    category, label, room = _VENUE_KINDS[index % len(_VENUE_KINDS)]
    owner = "张" + younger_name(rng)[1:] if index == 0 else younger_name(rng)
    name = "老张家常菜馆" if key.endswith("V0001") else f"{owner[0]}记{label}"
    owner_phone = phones.take()
    contacts = [
        Contact(owner, "resident", 1, owner_phone, "sms", site=key),
        Contact(younger_name(rng, owner[0]), "family", 1, phones.take(), "wechat", site=key),
        Contact(younger_name(rng), "neighbour", 1, phones.take(), "voice", site=key),
    ]
    site = Site(
        key=key, org=grid, kind="venue", category=category, name=name, address=address,
        latitude=lat, longitude=lon, phone=owner_phone, resident_name=owner,
        situation=("九小场所",), key_holder_name=owner, key_holder_phone=owner_phone, room=room,
        notes=f"经营者{owner}；{label}。",
    )  # fmt: skip
    return site, contacts


def _position(room: str) -> str:
    return f"{room}顶棚中央，距墙0.5米以上" if room != "厨房" else "厨房外侧顶棚，避开灶台油烟"


def _commissioning(
    rng: random.Random, installed: datetime, installer: str, kind: str
) -> dict[str, Any]:
    tested = installed + timedelta(minutes=rng.randint(5, 25))
    return {
        "result": "passed",
        "test_event_at": tested.isoformat(),
        "signal_dbm": rng.randint(-95, -60),
        "battery_pct": rng.randint(92, 100),
        "installer": installer,
        "explained": ["工作原理", "测试按钮", "日常维护"],
        "acceptance": "住户已签字确认" if kind == "household" else "经营者已签字确认",
    }


# The emulated Aliyun account of the demo (devtools.localservers.providers, served by the inbox):
# SMS and calls go through the real plugins, signed, and come back as receipts and keypresses.
DEMO_KEY_ID = "demo-key-id"
DEMO_KEY_SECRET = "demo-key-secret"  # noqa: S105 - the emulator's own key, not a real one


def channel_url(inbox_prefix: str, contact: Contact) -> str:
    """The Apprise URL that delivers this contact's messages to the demo inbox: SMS and voice
    through the Aliyun plugins to the emulators the inbox serves, WeChat as a JSON post."""
    host = inbox_prefix.split("://", 1)[1].split("/", 1)[0]
    auth = f"{DEMO_KEY_ID}:{DEMO_KEY_SECRET}"
    if contact.channel == "sms":
        return (f"aliyunsms://{auth}@SMS_DEMO/{contact.phone}?sign=SW"
                f"&endpoint=http://{host}/emu/aliyun-sms")  # fmt: skip
    if contact.channel == "voice":
        return (f"alivoice://{auth}@TTS_DEMO/{contact.phone}?show=05370000000&ack=TTS_ACK"
                f"&endpoint=http://{host}/emu/aliyun-voice")  # fmt: skip
    return f"{inbox_prefix}{contact.channel}/{contact.phone}"
