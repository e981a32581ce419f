"""Load generation with Locust, run in its own process (see runner.py for why)."""
