"""``/api/v1/roster``: import the sub-district's roster (CSV or XLSX), download the template."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from api.deps import ConnDep, SettingsDep
from api.errors import ApiError
from api.registry_access import Manager, actor
from api.roster import service
from api.roster.parser import template_csv
from api.roster.schemas import RosterReport

router = APIRouter(prefix="/api/v1/roster", tags=["roster"])

MAX_BYTES = 5 * 1024 * 1024


class PayloadTooLarge(ApiError):
    """The uploaded roster is larger than the import accepts."""

    status_code = 413
    code = "payload_too_large"
    default_message = "the roster file is larger than 5 MiB"


@router.post("/import", response_model=RosterReport)
def create_import(
    *,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX roster")],
    caller: Manager,
    conn: ConnDep,
    settings: SettingsDep,
    dry_run: Annotated[bool, Form()] = False,
    channel_templates: Annotated[
        list[str] | None,
        Form(
            max_length=5,
            description="Apprise URL templates with {phone}, e.g. the programme's SMS account; "
            "each imported contact gets one channel per template",
        ),
    ] = None,
) -> RosterReport:
    """Validate every row; store all rows in one transaction, or none if any row is refused."""
    content = file.file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise PayloadTooLarge()
    return service.import_roster(
        conn,
        scope=caller.scope_like(),
        content=content,
        filename=file.filename or "",
        dry_run=dry_run,
        actor=actor(caller),
        channel_templates=channel_templates,
        channel_schemes=tuple(settings.api_contact_channel_schemes),
        environment=settings.environment,
    )


@router.get("/template.csv", response_class=Response)
def read_template(caller: Manager) -> Response:
    """The roster template: the header the import understands and one example row."""
    return Response(
        template_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="roster-template.csv"'},
    )
