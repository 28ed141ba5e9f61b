"""Codecs turn a transport's message into canonical records (see core.records)."""
