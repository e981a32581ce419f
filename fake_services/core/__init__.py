"""Core: the Studio and Admin APIs behind the edge, backed by Postgres and the WRK Platform."""
