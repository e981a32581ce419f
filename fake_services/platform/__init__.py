"""Fake WRK Platform: the external workflow engine core integrates with."""
