"""Apprise's JSON, WeCom-bot and DingTalk plugins, made to read the provider's answer."""

from __future__ import annotations

from typing import Any

from apprise.plugins import custom_json, dingtalk, wecombot

from core.notify.plugins.capture import body_error, capturing, describe
from core.redact import redact


class _BodyChecked:
    """Mixin: after the parent's send, a 2xx answer whose body reports an error is a failure."""

    last_response: str | None = None

    def send(self, *args: Any, **kwargs: Any) -> bool:
        with capturing() as seen:
            ok: bool = super().send(*args, **kwargs)  # type: ignore[misc]
        self.last_response = describe(seen[-1]) if seen else None
        if ok and seen and not isinstance(seen[-1], Exception):
            problem = body_error(seen[-1])
            if problem:
                plugin: Any = self
                plugin.logger.warning(
                    "%s answered 200 with an error: %s", plugin.service_name, redact(problem)
                )
                return False
        return ok


class CheckedJSON(_BodyChecked, custom_json.NotifyJSON):
    """``json://`` and ``jsons://`` webhooks that may answer 200 with an error body."""


class CheckedWeComBot(_BodyChecked, wecombot.NotifyWeComBot):
    """``wecombot://``: WeCom group bots answer 200 with ``errcode`` on failure.

    ``?endpoint=http://host:port`` sends to another host with the same path and ``key`` (the
    provider emulator in tests and the demo, or a relay)."""

    def __init__(self, key: str, endpoint: str | None = None, **kwargs: Any) -> None:
        super().__init__(key, **kwargs)
        if endpoint:
            self.api_url = f"{endpoint.rstrip('/')}/cgi-bin/webhook/send?key={self.key}"

    @staticmethod
    def parse_url(url: str, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        results: dict[str, Any] | None = wecombot.NotifyWeComBot.parse_url(url)
        if results:
            results["endpoint"] = results["qsd"].get("endpoint")
        return results


class CheckedDingTalk(_BodyChecked, dingtalk.NotifyDingTalk):
    """``dingtalk://``: DingTalk robots answer 200 with ``errcode`` on failure."""
