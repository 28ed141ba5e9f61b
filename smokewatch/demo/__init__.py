"""The one-command demo: embedded servers, seed, services, storyline and an inbox."""
