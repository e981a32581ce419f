"""Chaos and SLO conformance harness for the WRK Copilot observability specification.

The harness talks to a system under test only over the network and through files, so the
same code drives the embedded fakes and a real deployment.
"""

__version__ = "0.1.0"
