"""``POST /callbacks/<provider>/<kind>?token=...``: receipts, keypresses and SMS replies.

None of these providers signs its HTTP push (Aliyun's "HTTP批量推送", Tencent SMS and VMS
callbacks), so the proof is the shared token configured in the callback URL in each console
(``SMOKEWATCH_CALLBACK_TOKEN``); without it, or with another, the push is refused with 401 and
nothing is stored. Each item is applied once (providers retry). The answer is the shape each
provider documents: Aliyun ``{"code": 0, "msg": "成功"}``, Tencent ``{"result": 0, "errmsg":
"OK"}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from api.callbacks import schemas
from api.callbacks.service import Parser, record_callback
from api.deps import ConnDep, SettingsDep
from api.errors import BadRequest, SenderUnproven, Unavailable
from api.settings import ApiSettings
from core.reach import callback_token_ok
from core.reach.apply import NOT_YET

router = APIRouter(prefix="/callbacks", tags=["callbacks"])
ALIYUN_OK = {"code": 0, "msg": "成功"}
TENCENT_OK = {"result": 0, "errmsg": "OK"}


def verified(settings: SettingsDep, token: Annotated[str | None, Query()] = None) -> ApiSettings:
    """Refuse a push without the configured token before a connection is taken."""
    expected = settings.callback_token.get_secret_value() if settings.callback_token else None
    if expected is None:
        raise SenderUnproven("provider callbacks are not configured (SMOKEWATCH_CALLBACK_TOKEN)")
    if not callback_token_ok(token, expected):
        raise SenderUnproven("callback token missing or wrong: nothing was recorded")
    return settings


Verified = Annotated[ApiSettings, Depends(verified)]


def _handle(conn: Any, provider: str, kind: str, parse: Parser, body: Any) -> None:
    try:
        items = parse(body, schemas.received_now())
    except schemas.CallbackBodyError as exc:
        raise BadRequest(f"not a {provider} {kind} callback: {exc}") from exc
    done = record_callback(conn, provider=provider, kind=kind, items=items, body=body)
    if done[NOT_YET]:
        # Committed what was applied; the provider retries the batch (applied items are
        # duplicates then) and the rest finds its attempt.
        conn.commit()
        raise Unavailable("receipt for a request not recorded yet; retry")


@router.post("/aliyun/sms-report")
def create_aliyun_sms_report(
    _: Verified, conn: ConnDep, body: Annotated[Any, Body()]
) -> dict[str, Any]:
    """Aliyun SMS delivery reports (SmsReport)."""
    _handle(conn, "aliyun", "sms-report", schemas.aliyun_sms_report, body)
    return ALIYUN_OK


@router.post("/aliyun/sms-up")
def create_aliyun_sms_up(
    _: Verified, conn: ConnDep, body: Annotated[Any, Body()]
) -> dict[str, Any]:
    """Aliyun SMS replies (SmsUp)."""
    _handle(conn, "aliyun", "sms-up", schemas.aliyun_sms_up, body)
    return ALIYUN_OK


@router.post("/aliyun/voice-report")
def create_aliyun_voice_report(
    _: Verified, conn: ConnDep, body: Annotated[Any, Body()]
) -> dict[str, Any]:
    """Aliyun call results (VoiceReport) and IVR keypresses (VoiceCallReport ``dtmf``)."""
    _handle(conn, "aliyun", "voice-report", schemas.aliyun_voice_report, body)
    return ALIYUN_OK


@router.post("/tencent/sms-status")
def create_tencent_sms_status(
    _: Verified, conn: ConnDep, body: Annotated[Any, Body()]
) -> dict[str, Any]:
    """Tencent SMS status callbacks."""
    _handle(conn, "tencent", "sms-status", schemas.tencent_sms_status, body)
    return TENCENT_OK


@router.post("/tencent/sms-reply")
def create_tencent_sms_reply(
    _: Verified, conn: ConnDep, body: Annotated[Any, Body()]
) -> dict[str, Any]:
    """Tencent SMS reply callbacks (短信回复)."""
    _handle(conn, "tencent", "sms-reply", schemas.tencent_sms_reply, body)
    return TENCENT_OK


@router.post("/tencent/voice")
def create_tencent_voice(
    _: Verified, conn: ConnDep, body: Annotated[Any, Body()]
) -> dict[str, Any]:
    """Tencent VMS call status and keypress callbacks."""
    _handle(conn, "tencent", "voice", schemas.tencent_voice, body)
    return TENCENT_OK
