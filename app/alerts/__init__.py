"""Alerts: rules, signals, the evaluator and its states, silences and maintenance windows."""
