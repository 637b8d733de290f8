"""Task runs: Healthchecks-style ping routes, runs, schedules and overdue detection."""
