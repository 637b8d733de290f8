"""What each channel sends: webhook signature, Slack message, e-mail, Alertmanager alerts."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from app.notify import alertmanager, email, slack, webhook
from app.notify.messages import AlertNotification, AlertSeries

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _notification(status: str = "firing", ends_at: datetime | None = None) -> AlertNotification:
    return AlertNotification(
        idempotency_key="rule-1-t0",
        rule_id=1,
        rule_name="ServiceDown",
        severity="critical",
        status=status,  # type: ignore[arg-type]
        series=(
            AlertSeries(
                labels={"service": "shop"},
                annotations={"summary": "shop is down"},
                value=1.0,
                starts_at=T0,
                ends_at=ends_at,
            ),
        ),
        generator_url="http://vigil.test/alerts/rules/1",
        created_at=T0 + timedelta(minutes=5),
    )


def test_webhook_signature_is_hmac_sha256_of_the_exact_body() -> None:
    body = webhook.body(_notification())
    expected = hmac.new(b"s" * 20, body, hashlib.sha256).hexdigest()
    assert webhook.sign(body, "s" * 20) == f"sha256={expected}"
    assert json.loads(body)["idempotency_key"] == "rule-1-t0"


def test_slack_message_has_fallback_text_and_blocks() -> None:
    message = slack.message(_notification())
    assert message["text"] == "[FIRING:1] ServiceDown (critical)"
    assert message["blocks"][0]["text"]["text"] == "[FIRING:1] ServiceDown (critical)"
    assert 'service="shop" · value 1 · shop is down' in message["blocks"][1]["text"]["text"]
    assert "http://vigil.test/alerts/rules/1" in message["blocks"][2]["elements"][0]["text"]


def test_slack_message_shows_markup_in_labels_and_annotations_as_text() -> None:
    notification = msgspec.structs.replace(
        _notification(),
        rule_name="<!channel> & co",
        series=(
            msgspec.structs.replace(
                _notification().series[0],
                labels={"service": "<https://evil.example|Open the rule>"},
                annotations={"summary": "<@U123> <script>x</script>"},
            ),
        ),
    )
    message = slack.message(notification)
    section = message["blocks"][1]["text"]["text"]
    assert "&lt;https://evil.example|Open the rule&gt;" in section
    assert "&lt;@U123&gt; &lt;script&gt;x&lt;/script&gt;" in section
    assert "<" not in section
    assert ">" not in section
    assert message["text"] == "[FIRING:1] &lt;!channel&gt; &amp; co (critical)"
    assert message["blocks"][0]["text"]["text"].startswith("[FIRING:1] <!channel> & co")


def test_alertmanager_firing_alert_has_no_ends_at() -> None:
    (alert,) = alertmanager.alerts(_notification())
    assert alert == {
        "labels": {"alertname": "ServiceDown", "severity": "critical", "service": "shop"},
        "annotations": {"summary": "shop is down"},
        "startsAt": "2026-11-23T12:00:00Z",
        "generatorURL": "http://vigil.test/alerts/rules/1",
    }


def test_alertmanager_resolved_alert_ends_when_the_series_ended() -> None:
    ended = T0 + timedelta(minutes=3)
    (alert,) = alertmanager.alerts(_notification("resolved", ends_at=ended))
    assert alert["endsAt"] == "2026-11-23T12:03:00Z"
    (fallback,) = alertmanager.alerts(_notification("resolved"))
    assert fallback["endsAt"] == "2026-11-23T12:05:00Z"


def test_email_message_subject_body_and_idempotency_key() -> None:
    config = msgspec.convert(
        {
            "host": "smtp.example.com",
            "from_address": "vigil@example.com",
            "to_addresses": ["a@example.com", "b@example.com"],
        },
        email.EmailConfig,
    )
    message = email.build_message(config, _notification(), key="rule-1-t0")
    assert message["Subject"] == "[FIRING:1] ServiceDown (critical)"
    assert message["To"] == "a@example.com, b@example.com"
    assert message["Message-ID"] == "<rule-1-t0@example.com>"
    assert "shop is down" in message.get_content()


@pytest.mark.parametrize(
    ("config_type", "raw", "reason"),
    [
        (webhook.WebhookConfig, {"url": "http://x", "secret": "short"}, "secret"),
        (webhook.WebhookConfig, {"url": "mailto:x@y", "secret": "s" * 16}, "url"),
        (webhook.WebhookConfig, {"url": "http://x:99999/", "secret": "s" * 16}, "url"),
        (slack.SlackConfig, {"webhook_url": "hooks.slack.com/x"}, "webhook_url"),
        (alertmanager.AlertmanagerConfig, {"url": "http:///x"}, "url"),
        (
            email.EmailConfig,
            {"host": "smtp.example.com", "from_address": "nope", "to_addresses": ["a@b.c"]},
            "from_address",
        ),
        (
            email.EmailConfig,
            {"host": "smtp://x", "from_address": "a@b.c", "to_addresses": ["a@b.c"]},
            "host",
        ),
        (
            email.EmailConfig,
            {"host": "h", "password": "p", "from_address": "a@b.c", "to_addresses": ["a@b.c"]},
            "username",
        ),
        (email.EmailConfig, {"host": "h", "from_address": "a@b.c", "to_addresses": []}, "to_"),
    ],
)
def test_bad_configs_are_refused_naming_the_field(
    config_type: type, raw: dict[str, object], reason: str
) -> None:
    with pytest.raises(msgspec.ValidationError, match=reason):
        msgspec.convert(raw, config_type)
