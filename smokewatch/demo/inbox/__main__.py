"""``python -m smokewatch.demo.inbox``: serve the inbox until SIGTERM (run by the demo)."""

from smokewatch.demo.inbox.server import main

main()
