"""``/api/v1/roster``: import the sub-district's roster (CSV or XLSX), download the template."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException

from api.body_limit import BodyTooLarge
from api.deps import ConnDep, OperatorDep, SettingsDep
from api.errors import ApiError, BadRequest
from api.roster import service
from api.roster.parser import template_csv
from api.roster.schemas import RosterReport

router = APIRouter(prefix="/api/v1/roster", tags=["roster"])

TEMPLATES_MAX = 5
# The form, described by hand: the route reads it itself, after the caller is authenticated
# (FastAPI would read and parse File/Form parameters before any dependency, issue 15).
IMPORT_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary",
                         "description": "CSV (UTF-8 or GB18030) or XLSX roster"},
                "dry_run": {"type": "boolean", "default": False},
                "channel_templates": {
                    "type": "array", "items": {"type": "string"}, "maxItems": TEMPLATES_MAX,
                    "description": "Apprise URL templates with {phone}, e.g. the programme's "
                    "SMS account; each imported contact gets one channel per template",
                },
            },
        }}},
    }
}  # fmt: skip


class PayloadTooLarge(ApiError):
    """The uploaded roster is larger than the import accepts."""

    status_code = 413
    code = "payload_too_large"
    default_message = "the roster file is too large"


@router.post("/import", response_model=RosterReport, openapi_extra=IMPORT_FORM)
async def create_import(
    *, request: Request, caller: OperatorDep, conn: ConnDep, settings: SettingsDep
) -> RosterReport:
    """Validate every row; store all rows in one transaction, or none if any row is refused.

    The body (up to ``SMOKEWATCH_API_MAX_UPLOAD_BYTES``, api/body_limit.py) is read only
    once the caller is known to be a manager.
    """
    try:
        form = await request.form(max_files=1, max_fields=TEMPLATES_MAX + 2)
    except (BodyTooLarge, HTTPException):  # answered 413, or 400 for a malformed multipart
        raise
    except Exception as exc:  # what FastAPI answers when it cannot read File/Form parameters
        raise BadRequest("there was an error parsing the body") from exc
    upload = form.get("file")
    if not isinstance(upload, StarletteUploadFile):
        raise _invalid("file", "missing", "Field required")
    templates = [t for t in form.getlist("channel_templates") if isinstance(t, str)] or None
    if templates is not None and len(templates) > TEMPLATES_MAX:
        raise _invalid("channel_templates", "too_long", f"at most {TEMPLATES_MAX} templates")
    try:
        dry_run = _BOOL.validate_python(form.get("dry_run") or False)
    except ValidationError:
        raise _invalid("dry_run", "bool_parsing", "Input should be a valid boolean") from None
    limit = settings.api_max_upload_bytes
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise PayloadTooLarge(f"the roster file is larger than {limit} bytes")
    return await run_in_threadpool(
        service.import_roster,
        conn,
        scope=caller.scope_like(),
        content=content,
        filename=upload.filename or "",
        dry_run=dry_run,
        actor=caller.actor,
        channel_templates=templates,
        channel_schemes=tuple(settings.api_contact_channel_schemes),
        environment=settings.environment,
    )


_BOOL = TypeAdapter(bool)


def _invalid(field: str, kind: str, message: str) -> RequestValidationError:
    """A 422 in the API's one error shape, as FastAPI's own form validation gives it."""
    return RequestValidationError([{"type": kind, "loc": ("body", field), "msg": message}])


@router.get("/template.csv", response_class=Response)
def read_template(caller: OperatorDep) -> Response:
    """The roster template: the header the import understands and one example row."""
    return Response(
        template_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="roster-template.csv"'},
    )


@router.get("/export.csv", response_class=Response)
def read_export(caller: OperatorDep, conn: ConnDep) -> Response:
    """The households and venues in your scope, in the import's columns (formulas neutralised)."""
    return Response(
        service.export_roster(conn, scope=caller.scope_like()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="roster.csv"'},
    )
