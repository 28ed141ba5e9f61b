"""A loopback HTTP server for the receivers of tests, benchmarks and the demo."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LoopbackHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with a listen backlog for a storm's concurrent senders.

    The standard library's backlog of 5 drops connections when alerting's 64 senders open
    theirs at once; the client's connect then times out and a test or benchmark reports a
    page as lost that a real gateway would have taken.
    """

    request_queue_size = 256
    daemon_threads = True
