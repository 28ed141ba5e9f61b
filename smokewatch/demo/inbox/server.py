"""The inbox's HTTP server (stdlib): receives Apprise ``json://`` posts, serves pages and links.

``POST /inbox/<channel>/<phone>``  what the alert engine sends (Apprise's JSON body)
``POST /emu/aliyun-sms|aliyun-voice``  the emulated Aliyun SMS and voice APIs (signed requests
                                   from the real plugins; receipts go to the API's callbacks)
``POST /press/<ref>``               "press 1" on an emulated call: the keypress callback
``POST /reply/<ref>``               reply to an emulated SMS (form field ``text``)
``GET /``                          the inbox, one phone per recipient (``?lang=en``)
``GET /api/messages``              the same as JSON, for tests
``GET|POST /a/<token>``            the acknowledge link: view, acknowledge, resolve
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from core.db import connect
from core.errors import SmokewatchError
from core.incidents import (
    IncidentError,
    acknowledge_by_link,
    describe_incident,
    get_incident,
    report_by_link,
    resolve_by_link,
    verify_ack_token,
)
from core.logging import setup_logging
from core.messages import word
from devtools.localservers.providers import Message, ProviderEmulator
from smokewatch.demo.inbox.page import ack_page, error_page, inbox_page
from smokewatch.demo.inbox.store import InboxStore
from smokewatch.demo.seed.plan import DEMO_KEY_ID, DEMO_KEY_SECRET
from smokewatch.demo.settings import DemoSettings

log = logging.getLogger(__name__)

_PEOPLE_SQL = """
SELECT c.phone, c.name, c.role, s.name AS site_name, o.name AS org_name
FROM contacts c LEFT JOIN sites s ON s.id = c.site_id LEFT JOIN organisations o ON o.id = c.org_id
WHERE c.phone IS NOT NULL
"""
_MAX_BODY = 64 * 1024


class InboxApp:
    """State shared by request threads: the store, the settings, a cached phone book."""

    def __init__(self, settings: DemoSettings) -> None:
        self.settings = settings
        self.store = InboxStore(settings.demo_dir / "inbox.jsonl")
        self._people: dict[str, dict[str, Any]] = {}
        self._people_at = 0.0
        self._lock = threading.Lock()
        token = settings.callback_token.get_secret_value() if settings.callback_token else None
        callbacks = settings.demo_api_url or None
        self.emulators = {
            path: ProviderEmulator(
                kind, key_id=DEMO_KEY_ID, secret=DEMO_KEY_SECRET, callbacks=callbacks,
                token=token, on_message=self._arrived,
            )
            for path, kind in (("aliyun-sms", "aliyun_sms"), ("aliyun-voice", "aliyun_voice"))
        }  # fmt: skip
        self.by_ref: dict[str, tuple[ProviderEmulator, Message]] = {}

    def _arrived(self, message: Message) -> None:
        channel = "voice" if message.kind.endswith("voice") else "sms"
        emulator = self.emulators["aliyun-voice" if channel == "voice" else "aliyun-sms"]
        with self._lock:
            self.by_ref[message.ref] = (emulator, message)
        self.store.add(
            channel=channel, phone=message.number, title="", body=message.text, ref=message.ref
        )
        log.info("inbox: emulated %s to %s", channel, message.number)

    def press(self, ref: str) -> bool:
        """Press 1 on the emulated call ``ref``; whether the API took it."""
        with self._lock:
            found = self.by_ref.get(ref)
        if found is None or not found[0].kind.endswith("voice"):
            return False
        return found[0].press(found[1], "1") == 200

    def reply(self, ref: str, text: str) -> bool:
        """Reply ``text`` to the emulated SMS ``ref``; whether the API took it."""
        with self._lock:
            found = self.by_ref.get(ref)
        if found is None or not found[0].kind.endswith("sms") or not text.strip():
            return False
        return found[0].reply(found[1].number, text.strip()[:200]) == 200

    def people(self) -> dict[str, dict[str, Any]]:
        """Phone number -> name, role, place (refreshed every 30 s)."""
        with self._lock:
            if time.monotonic() - self._people_at > 30:
                try:
                    with connect(self.settings.database_url, autocommit=True) as conn:
                        rows = conn.execute(_PEOPLE_SQL).fetchall()
                    self._people = {
                        r["phone"]: dict(r) | {"role_label": word("role", r["role"], "zh-CN")}
                        for r in rows
                    }
                    self._people_at = time.monotonic()
                except SmokewatchError as exc:
                    log.warning("could not read contacts: %s", exc)
            return self._people

    @property
    def secret(self) -> str:
        return self.settings.ack_secret.get_secret_value()


class Handler(BaseHTTPRequestHandler):
    """Routes of the inbox."""

    server: InboxServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        lang = parse_qs(url.query).get("lang", ["zh-CN"])[0]
        app = self.server.app
        if url.path == "/":
            self._send(
                200,
                inbox_page(app.store.all(), app.people(), lang, product=app.settings.demo_api_url),
            )
        elif url.path == "/api/messages":
            self._send(200, app.store.as_json(app.people()), "application/json")
        elif url.path == "/healthz":
            self._send(200, b'{"status":"ok"}', "application/json")
        elif url.path.startswith("/a/"):
            self._link(url.path[3:], lang, action=None, form={})
        else:
            self._send(404, error_page(lang, "404"))

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = min(int(self.headers.get("Content-Length") or 0), _MAX_BODY)
        raw = self.rfile.read(length)
        parts = url.path.strip("/").split("/")
        app = self.server.app
        if len(parts) == 3 and parts[0] == "inbox":
            self._receive(parts[1], parts[2], raw)
        elif len(parts) == 2 and parts[0] == "emu" and parts[1] in app.emulators:
            status, answer = app.emulators[parts[1]].handle(url.path, dict(self.headers), raw)
            self._send(status, orjson.dumps(answer), "application/json")
        elif len(parts) == 2 and parts[0] in ("press", "reply"):
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
            if parts[0] == "press":
                app.press(parts[1])
            else:
                app.reply(parts[1], form.get("text", ""))
            self._redirect("/" + (f"?{url.query}" if url.query else ""))
        elif url.path.startswith("/a/"):
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
            lang = parse_qs(url.query).get("lang", ["zh-CN"])[0]
            self._link(url.path[3:], lang, action=form.get("action"), form=form)
        else:
            self._send(404, b"{}", "application/json")

    def _receive(self, channel: str, phone: str, raw: bytes) -> None:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self._send(400, b'{"errcode":400,"errmsg":"not JSON"}', "application/json")
            return
        message = self.server.app.store.add(
            channel=channel,
            phone=phone,
            title=str(data.get("title") or ""),
            body=str(data.get("message") or data.get("body") or ""),
        )
        log.info("inbox: %s to %s: %s", channel, phone, message.title or message.body[:40])
        self._send(200, b'{"errcode":0,"errmsg":"ok"}', "application/json")

    def _link(self, token: str, lang: str, *, action: str | None, form: dict[str, str]) -> None:
        app = self.server.app
        try:
            claim = verify_ack_token(token, secret=app.secret)
            with connect(app.settings.database_url, autocommit=True) as conn:
                done = ""
                if action == "ack":
                    with conn.transaction():
                        acknowledge_by_link(conn, claim=claim)
                    done = "✓"
                elif action == "resolve":
                    # A link closes a tamper visit; a fire or heat alarm is reported to the
                    # monitoring centre, which closes it (core.incidents refuses otherwise).
                    kind = get_incident(conn, claim.incident_id)["kind"]
                    close = report_by_link if kind in ("fire", "heat") else resolve_by_link
                    with conn.transaction():
                        close(
                            conn, claim=claim, outcome=form.get("outcome", ""),
                            cause=form.get("cause") or None, note=form.get("note") or None,
                        )  # fmt: skip
                    done = "✓"
                incident = describe_incident(conn, claim.incident_id)
            self._send(200, ack_page(incident, lang, message=done))
        except IncidentError as exc:
            self._send(400, error_page(lang, f"{exc.__class__.__name__}: {exc}"))
        except SmokewatchError as exc:
            self._send(503, error_page(lang, str(exc)))

    def _redirect(self, where: str) -> None:
        self.send_response(303)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: str | bytes, content_type: str = "text/html") -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class InboxServer(ThreadingHTTPServer):
    """A threading server carrying the app state."""

    daemon_threads = True

    def __init__(self, app: InboxApp, port: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.app = app


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    settings = DemoSettings()
    setup_logging(settings)
    server = InboxServer(InboxApp(settings), settings.demo_inbox_port)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("demo inbox on http://127.0.0.1:%d/", server.server_address[1])
    server.serve_forever(poll_interval=0.5)
    server.server_close()
