"""``/ui``: the pages and their static files; ``/a/{token}``: where alert links land.

The pages are static HTML shells with JavaScript modules that call the JSON API with the
``sw_session`` cookie (or, on a relative's page, the token in the URL). Nothing is rendered
with data on the server, so these routes never open a connection.
"""

from __future__ import annotations

import json
import os
from functools import cache
from os import PathLike
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.deps import SettingsDep
from core.messages import catalogue

HERE = Path(__file__).parent
HTML = HERE / "html"
STATIC = (HERE / "static").resolve()
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".wav": "audio/wav",
}
# The pages load only their own files; map tiles may come from the configured tile server.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: {tiles}; media-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

router = APIRouter(include_in_schema=False, tags=["pages"])


def _tile_origin(url: str | None) -> str:
    """The CSP source of the tile server: ``https://t{s}.example.cn/..`` -> ``https://*.example.cn``."""
    if not url or "://" not in url:
        return ""
    scheme, rest = url.split("://", 1)
    host = rest.split("/", 1)[0]
    if "{s}" in host:
        host = "*." + host.split(".", 1)[1] if "." in host else "*"
    return f"{scheme}://{host}"


def _page(name: str, settings: SettingsDep) -> FileResponse:
    headers = {
        "Content-Security-Policy": _CSP.format(tiles=_tile_origin(settings.api_map_tile_url)),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
        # A relative's URL carries a token, and the board's map may load tiles from another
        # site: no page sends its URL anywhere.
        "Referrer-Policy": "no-referrer",
    }
    return FileResponse(
        HTML / f"{name}.html", media_type="text/html; charset=utf-8", headers=headers
    )


@router.get("/", include_in_schema=False)
@router.get("/ui")
def read_ui_root() -> RedirectResponse:
    """The board is the default page."""
    return RedirectResponse("/ui/board", status_code=307)


@router.get("/ui/board")
def read_board(settings: SettingsDep) -> FileResponse:
    """Monitoring-centre board (large screen)."""
    return _page("board", settings)


@router.get("/ui/install")
def read_install(settings: SettingsDep) -> FileResponse:
    """Installer's page (phone)."""
    return _page("install", settings)


@router.get("/ui/login")
def read_login(settings: SettingsDep) -> FileResponse:
    """Login form for the board and the installer's page."""
    return _page("login", settings)


@router.get("/ui/relative/{token}")
def read_relative(token: str, settings: SettingsDep) -> FileResponse:
    """A relative's page for the incident or household the token grants (checked by the API)."""
    return _page("relative", settings)


@router.get("/a/{token}")
def read_alert_link(token: str) -> RedirectResponse:
    """The short link an alert carries opens the relative's page."""
    response = RedirectResponse(f"/ui/relative/{token}", status_code=303)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/ui/config.json")
def read_ui_config(settings: SettingsDep) -> dict[str, object]:
    """Settings the pages need: the map's tile server (None draws sites on a plain background)."""
    return {
        "map_tile_url": settings.api_map_tile_url,
        "map_attribution": settings.api_map_attribution,
        "map_max_zoom": settings.api_map_max_zoom,
        "map_subdomains": settings.api_map_subdomains,
    }


@cache
def _catalogue_module() -> bytes:
    """The message catalogue as a JavaScript module (what i18n.js imports): one JSON file for
    the pages, the alerts and the digests, and no JSON-module support needed in the browser."""
    words = json.dumps(catalogue(), ensure_ascii=False, indent=1)
    return f"// core/messages/catalogue.json\nexport default {words};\n".encode()


@router.get("/ui/catalogue.js")
def read_catalogue() -> Response:
    """The words the pages share with alerts and digests: events, states, outcomes, roles."""
    return Response(
        _catalogue_module(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/favicon.ico", include_in_schema=False)  # browsers ask for it on every page
def read_favicon() -> FileResponse:
    return FileResponse(STATIC / "img" / "favicon.svg", media_type="image/svg+xml")


class PageFiles(StaticFiles):
    """api/pages/static, mounted at ``/ui/static`` (Starlette's StaticFiles: no path leaves
    the folder). Anything odd is a 404, never a 500: a NUL byte or an undecodable name once
    answered 500 with a traceback (issue 15); only the pages' own kinds of file are served.
    """

    def __init__(self) -> None:
        super().__init__(directory=STATIC, follow_symlink=False)

    async def get_response(self, path: str, scope: Scope) -> Response:
        odd = "\x00" in path or str(scope.get("path", "")).endswith("/")
        if odd or Path(path).suffix not in MEDIA_TYPES:
            raise HTTPException(status_code=404)
        try:
            return await super().get_response(path, scope)
        except (OSError, ValueError, UnicodeError):
            raise HTTPException(status_code=404) from None

    def file_response(
        self, full_path: PathLike[str] | str, stat_result: os.stat_result, scope: Scope,
        status_code: int = 200,
    ) -> Response:  # fmt: skip
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Content-Type"] = MEDIA_TYPES[Path(full_path).suffix]
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
