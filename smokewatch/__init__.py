"""The smokewatch command-line entry point: the one module that knows every service."""
