"""View models of the channel pages: the typed fields of each kind and the form's parsing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.notify import kinds
from app.notify.channels import SEVERITIES, ChannelError
from app.notify.fields import MASK
from app.notify.models import CHANNEL_KINDS, Channel

SEVERITY_CHOICES = SEVERITIES


@dataclass(frozen=True, slots=True)
class ConfigField:
    """One input of a kind's config."""

    name: str
    label: str
    input: str = "text"  # text | password | number | select | lines
    help: str = ""
    choices: tuple[str, ...] = ()
    optional: bool = False

    @property
    def form_name(self) -> str:
        return f"config.{self.name}"


KIND_FIELDS: dict[str, tuple[ConfigField, ...]] = {
    "webhook": (
        ConfigField("url", "URL", help="http:// or https:// URL that receives a JSON POST."),
        ConfigField(
            "secret",
            "Signing secret",
            "password",
            help="At least 16 characters. The receiver recomputes X-Vigil-Signature "
            "(sha256=HMAC-SHA256 of the body) with it and drops repeated "
            "X-Vigil-Idempotency-Key values.",
        ),
    ),
    "slack": (
        ConfigField(
            "webhook_url",
            "Incoming webhook URL",
            "password",
            help="From Slack: Apps > Incoming Webhooks, https://hooks.slack.com/services/…",
        ),
    ),
    "email": (
        ConfigField("host", "SMTP host", help="e.g. smtp.example.com"),
        ConfigField("port", "Port", "number", help="587 for STARTTLS, 465 for TLS, 25 relay."),
        ConfigField(
            "security",
            "Security",
            "select",
            choices=("starttls", "tls", "none"),
            help="none only for a relay on a network you trust.",
        ),
        ConfigField("username", "User name", optional=True),
        ConfigField("password", "Password", "password", optional=True),
        ConfigField("from_address", "From", help="e.g. vigil@example.com"),
        ConfigField("to_addresses", "To", "lines", help="One address per line."),
    ),
    "alertmanager": (
        ConfigField(
            "url",
            "Alertmanager URL",
            help="Base URL, e.g. http://alertmanager:9093; Vigil posts to /api/v2/alerts.",
        ),
        ConfigField("bearer_token", "Bearer token", "password", optional=True),
    ),
}
DEFAULTS: dict[str, dict[str, str]] = {"email": {"port": "587", "security": "starttls"}}

_MATCHER_LINE = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$"
)


@dataclass
class ChannelForm:
    """What the channel form holds, as typed (strings); secrets are never filled in."""

    name: str = ""
    kind: str = "webhook"
    enabled: bool = True
    severities: list[str] = field(default_factory=list)
    label_matchers: str = ""
    config: dict[str, str] = field(default_factory=dict)
    secrets_set: frozenset[str] = frozenset()
    """Secret fields the channel has (shown as "set, leave empty to keep")."""

    @classmethod
    def blank(cls, kind: str) -> ChannelForm:
        kind = kind if kind in CHANNEL_KINDS else "webhook"
        return cls(kind=kind, config=dict(DEFAULTS.get(kind, {})))

    @classmethod
    def of(cls, channel: Channel) -> ChannelForm:
        secret_fields = kinds.KINDS[channel.kind].secret_fields
        config = {}
        for item in KIND_FIELDS[channel.kind]:
            value = channel.config.get(item.name, "")
            if item.name in secret_fields:
                continue
            config[item.name] = "\n".join(value) if isinstance(value, list) else str(value)
        return cls(
            name=channel.name,
            kind=channel.kind,
            enabled=channel.enabled,
            severities=list(channel.severities),
            label_matchers="\n".join(
                f"{m['name']}{m['op']}{m['value']}" for m in channel.label_matchers
            ),
            config=config,
            secrets_set=frozenset(f for f in secret_fields if channel.config.get(f)),
        )

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ChannelForm:
        """Read the submitted form (``data`` maps names to a string or a list of them)."""

        def one(key: str) -> str:
            value = data.get(key, "")
            return str(value[-1] if isinstance(value, list) and value else value or "")

        severities = data.get("severities", [])
        kind = one("kind")
        return cls(
            name=one("name"),
            kind=kind,
            enabled=one("enabled") == "on",
            severities=[severities] if isinstance(severities, str) else list(severities),
            label_matchers=one("label_matchers"),
            config={f.name: one(f.form_name) for f in KIND_FIELDS.get(kind, ())},
        )

    def config_input(self) -> dict[str, Any]:
        """The config to validate: numbers and lists typed; raises ChannelError."""
        if self.kind not in KIND_FIELDS:
            raise ChannelError(f"kind: expected one of {', '.join(CHANNEL_KINDS)}")
        raw: dict[str, Any] = {}
        for item in KIND_FIELDS[self.kind]:
            value = self.config.get(item.name, "").strip()
            if item.input == "number":
                if not value.isdigit():
                    raise ChannelError(f"config.{item.name}: expected a whole number")
                raw[item.name] = int(value)
            elif item.input == "lines":
                raw[item.name] = [v.strip() for v in re.split(r"[\n,;]", value) if v.strip()]
            elif value or not item.optional or item.input == "password":
                raw[item.name] = value
        return raw

    def matchers_input(self) -> list[dict[str, str]]:
        """``name=value`` lines as matchers; raises ChannelError naming the line."""
        matchers = []
        for number, line in enumerate(self.label_matchers.splitlines(), start=1):
            if not line.strip():
                continue
            match = _MATCHER_LINE.fullmatch(line)
            if match is None:
                raise ChannelError(
                    f"label_matchers: line {number}: expected name=value, name!=value, "
                    "name=~regex or name!~regex"
                )
            value = match["value"]
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            matchers.append({"name": match["name"], "op": match["op"], "value": value})
        return matchers


def error_field(message: str) -> str | None:
    """The form input an error message is about: ``config.to_addresses[1]: ...`` →
    ``config.to_addresses``; None when it names no field."""
    match = re.match(r"^([a-z_]+(?:\.[a-z_]+)?)(?:\[\d+\])?[.:]", message)
    return match.group(1) if match else None


def config_facts(channel: Channel) -> list[tuple[str, str]]:
    """(label, value) of the channel's config, secrets masked, for the read-only view."""
    shown = kinds.masked(channel.kind, channel.config)
    facts = []
    for item in KIND_FIELDS[channel.kind]:
        value = shown.get(item.name, "")
        text = ", ".join(value) if isinstance(value, list) else str(value)
        if item.input == "password" and not text:
            text = "not set"
        facts.append((item.label, text or "—"))
    return facts


def mask_placeholder(form: ChannelForm, item: ConfigField) -> str:
    """Placeholder of a secret input: says whether a value is kept."""
    return f"{MASK} (set; leave empty to keep)" if item.name in form.secrets_set else ""
