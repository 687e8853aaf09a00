"""Exit codes a scheduler can act on (documented in the README and in `leadscore --help`)."""

OK = 0  # done; every input row scored or quarantined
FAILED = 1  # an unexpected error: look at the log
USAGE = 2  # bad command line (typer/click's own code)
BAD_INPUT = 3  # input missing or unreadable, or a table misses a required column: fix the data, rerun
# Training refused by the minimum-data or no-signal check, or a first model without signal on its test window:
# widen the window or lower the minimum, check the outcomes.
NOT_ENOUGH_DATA = 4
QUARANTINE_OVER_LIMIT = 5  # the run finished, but more rows than allowed went to quarantine
NOT_PROMOTED = 6  # retrain finished, the challenger was not promoted (not an error for most schedulers)
EVIDENCE_BROKEN = 7  # the gate refused: the new data or outcomes look broken (the champion collapsed on them)
INTERRUPTED = 130  # SIGINT (Ctrl-C); 143 SIGTERM, 129 SIGHUP: 128 + the signal's number (pipelines.stopping)
