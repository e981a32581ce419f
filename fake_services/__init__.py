"""Fake WRK Copilot services: the system under test of the conformance harness.

Each service runs as its own process (`python -m fake_services <name>`) and is configured only
by environment variables read at startup. Nothing here knows about the harness.
"""
