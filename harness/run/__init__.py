"""Running scenarios: the session and its composition root, plans, the runner's timeline,
faults (always rolled back) and live progress."""
