"""The embedded stack started for people, not for one run: `wrkh up`, `wrkh down`, preflight."""
