"""Seed data of the demo: the Nanzhang programme with synthetic people (see plan.py)."""

from smokewatch.demo.seed.people import TEST_PHONE_PREFIX, is_test_phone
from smokewatch.demo.seed.plan import HOUSEHOLDS, VENUES, Programme, plan_programme
from smokewatch.demo.seed.write import DEMO_MODEL, SeedReport, inbox_prefix, seed

__all__ = [
    "DEMO_MODEL",
    "HOUSEHOLDS",
    "TEST_PHONE_PREFIX",
    "VENUES",
    "Programme",
    "SeedReport",
    "inbox_prefix",
    "is_test_phone",
    "plan_programme",
    "seed",
]
