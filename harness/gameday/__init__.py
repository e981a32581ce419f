"""Game days: one scenario against a deployment given by URLs, with abort conditions,
guaranteed rollback, a timeline (MTTD, time to mitigate, MTTR) and a postmortem draft."""
