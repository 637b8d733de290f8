"""Plain-text renderings of a notification, shared by the Slack and e-mail channels."""

from __future__ import annotations

from app.notify.messages import AlertNotification, AlertSeries


def title(notification: AlertNotification) -> str:
    """``[FIRING:2] ServiceDown (critical)``; reminders say so."""
    state = notification.status.upper()
    repeat = " (reminder)" if notification.repeat else ""
    return (
        f"[{state}:{len(notification.series)}] {notification.rule_name}"
        f" ({notification.severity}){repeat}"
    )


def series_line(series: AlertSeries) -> str:
    """``service="shop" · value 1 · shop is down``."""
    labels = ", ".join(f'{k}="{v}"' for k, v in sorted(series.labels.items())) or "(no labels)"
    parts = [labels]
    if series.value is not None:
        parts.append(f"value {series.value:g}")
    summary = series.annotations.get("summary") or series.annotations.get("description")
    if summary:
        parts.append(summary)
    return " · ".join(parts)


def text_body(notification: AlertNotification) -> str:
    """Title, one line per series, and the link back to the rule."""
    lines = [title(notification), ""]
    lines += [f"- {series_line(s)}" for s in notification.series]
    lines += ["", f"Rule: {notification.generator_url}"]
    return "\n".join(lines) + "\n"
