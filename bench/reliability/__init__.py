"""Reliability suite: faults, hostile input, a soak (long form: ``python -m bench.reliability``)."""
