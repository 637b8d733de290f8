"""Settings: YAML + environment overrides, one validation, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
import yaml

from app.config import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "vigil.example.yaml"


def _keys(value: object, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        keys: set[str] = set()
        for key, child in value.items():
            keys |= {f"{prefix}{key}"} | _keys(child, f"{prefix}{key}.")
        return keys
    return set()


def test_example_file_has_exactly_the_settings_keys() -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    model = msgspec.to_builtins(Settings())
    assert _keys(example) == _keys(model)


def test_example_file_values_are_the_defaults() -> None:
    assert load_settings(EXAMPLE, environ={}) == Settings()


def test_every_example_key_has_a_comment() -> None:
    lines = EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "- ")) or stripped.endswith(":"):
            continue
        assert "#" in line or lines[number - 1].strip().startswith("#"), line


def test_environment_overrides_nested_keys() -> None:
    settings = load_settings(
        EXAMPLE,
        environ={
            "VIGIL_TELEMETRY__TRACING__SAMPLE_RATE": "0.5",
            "VIGIL_SERVER__PORT": "9000",
            "VIGIL_SCHEDULER__ENABLED": "false",
        },
    )
    assert settings.telemetry.tracing.sample_rate == 0.5
    assert settings.server.port == 9000
    assert settings.scheduler.enabled is False


def test_environment_password_like_values_stay_strings() -> None:
    settings = load_settings(environ={"VIGIL_TELEMETRY__METRICS__BEARER_TOKEN": "no"})
    assert settings.telemetry.metrics.bearer_token == "no"


def test_admin_and_config_variables_are_not_settings_keys() -> None:
    load_settings(environ={"VIGIL_ADMIN_PASSWORD": "x", "VIGIL_ADMIN_EMAIL": "a@b.c"})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"VIGIL_TELEMETRY__TRACING__SAMPLE_RATE": "3"},
            "telemetry.tracing.sample_rate: expected a number between 0 and 1, got 3",
        ),
        ({"VIGIL_SERVER__PORT": "http"}, "server.port: expected an integer between 1 and 65535"),
        ({"VIGIL_SERVER__COLOUR": "red"}, "server.colour: unknown key"),
        ({"VIGIL_NOPE": "1"}, "nope: unknown key"),
        ({"VIGIL_TELEMETRY__LOGGING__FORMAT": "xml"}, "expected one of 'json', 'text', got 'xml'"),
        ({"VIGIL_SCHEDULER__ENABLED": "sometimes"}, "scheduler.enabled: expected true or false"),
        ({"VIGIL_RETENTION__DAYS": "0"}, "retention.days: expected an integer between 1 and 3650"),
    ],
)
def test_bad_values_name_the_key_and_the_expectation(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(environ=environ)
    assert message in str(error.value)


def test_bad_yaml_file_value_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text("telemetry:\n  tracing:\n    sample_rate: 3\n")
    with pytest.raises(ConfigError, match=r"^telemetry\.tracing\.sample_rate: expected a number"):
        load_settings(path, environ={})


def test_unreadable_and_malformed_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml", environ={})
    broken = tmp_path / "broken.yaml"
    broken.write_text("server: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken, environ={})
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_settings(scalar, environ={})


def test_section_given_a_scalar_is_an_error() -> None:
    with pytest.raises(ConfigError, match="server: expected a mapping of keys"):
        load_settings(environ={"VIGIL_SERVER": "8000"})


def test_bad_bot_pattern_names_its_index(tmp_path: Path) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text('rum:\n  bot_user_agents: ["crawl", "(unclosed"]\n')
    with pytest.raises(ConfigError, match=r"^rum\.bot_user_agents\[1\]: expected a regular"):
        load_settings(path, environ={})
