"""Secrets read from files (systemd credentials), and the HTTP endpoint's settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import defaults_only, subprocess_env

from synthpay import config
from synthpay.config.errors import ConfigError
from synthpay.config.settings import Secret, Settings

SECRETS = {
    "kafka.sasl_password": ("kafka.sasl_password_file", "KAFKA_SASL_PASSWORD_FILE"),
    "schema_registry.api_secret": ("schema_registry.api_secret_file", "SCHEMA_REGISTRY_API_SECRET_FILE"),
}


def secret(settings: Settings, key: str) -> str:
    section, name = key.split(".")
    value: Secret = getattr(getattr(settings, section), name)
    return value.value


def test_every_secret_has_a_file_variant_with_both_names() -> None:
    names = config.env_names()
    for file_key, alias in SECRETS.values():
        assert names[file_key] == ("SYNTHPAY_" + file_key.replace(".", "_").upper(), alias)


@pytest.mark.parametrize("key", list(SECRETS))
def test_relative_file_is_read_from_the_credentials_directory(tmp_path: Path, key: str) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "the-secret").write_text("s3cr3t with spaces\n")  # the newline is not part of it
    _file_key, alias = SECRETS[key]
    env = {alias: "the-secret", "CREDENTIALS_DIRECTORY": str(creds)}
    settings = config.load(env=env, cwd=tmp_path)
    assert secret(settings, key) == "s3cr3t with spaces"
    # Without $CREDENTIALS_DIRECTORY a relative name is taken from the working directory.
    (tmp_path / "the-secret").write_text("from-cwd")
    assert secret(config.load(env={alias: "the-secret"}, cwd=tmp_path), key) == "from-cwd"


def test_absolute_file_and_toml_setting(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("abs\r\n")
    (tmp_path / "config.toml").write_text(f'[kafka]\nsasl_password_file = "{path}"\n')
    settings = config.load(env={"CREDENTIALS_DIRECTORY": "/nonexistent"}, cwd=tmp_path)
    assert secret(settings, "kafka.sasl_password") == "abs"
    kafka = config.describe(settings)["kafka"]
    assert isinstance(kafka, dict)
    assert kafka["sasl_password"] == "***"
    assert kafka["sasl_password_file"] == str(path)


def test_unreadable_file_is_a_one_line_error_without_the_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        config.load(env={"KAFKA_SASL_PASSWORD_FILE": "nope", "CREDENTIALS_DIRECTORY": str(tmp_path)}, cwd=tmp_path)
    assert str(missing.value) == (
        f"KAFKA_SASL_PASSWORD_FILE = 'nope' (environment): cannot read '{tmp_path / 'nope'}': No such file or directory"
    )
    (tmp_path / "bin").write_bytes(b"\xff\xfe-s3cr3t")
    with pytest.raises(ConfigError) as binary:
        config.load(env={"SCHEMA_REGISTRY_API_SECRET_FILE": str(tmp_path / "bin")}, cwd=tmp_path)
    assert "not UTF-8 text" in str(binary.value) and "s3cr3t" not in str(binary.value)


def test_secret_and_its_file_together_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("x")
    with pytest.raises(ConfigError, match="expected one of them, not both") as both:
        config.load(env={"KAFKA_SASL_PASSWORD": "hunter2", "KAFKA_SASL_PASSWORD_FILE": "pw"}, cwd=tmp_path)
    assert "hunter2" not in str(both.value)


def test_cli_exits_2_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "synthpay", "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=subprocess_env(SYNTHPAY_KAFKA_SASL_PASSWORD_FILE="kafka-password", CREDENTIALS_DIRECTORY=str(tmp_path)),
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "SYNTHPAY_KAFKA_SASL_PASSWORD_FILE = 'kafka-password'" in result.stderr


def test_http_settings(tmp_path: Path) -> None:
    defaults = defaults_only()
    assert (defaults.http.host, defaults.http.port) == ("0.0.0.0", 0)  # off unless asked for
    settings = config.load(env={"SYNTHPAY_HTTP_PORT": "9464", "SYNTHPAY_HTTP_HOST": "127.0.0.1"}, cwd=tmp_path)
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 9464)
    assert config.load(env={}, flags={"http.port": "8080"}, cwd=tmp_path).http.port == 8080
    assert config.FLAGS["--http-port"] == "http.port"
    for bad in ("65536", "-1", "http"):
        with pytest.raises(ConfigError, match=f"SYNTHPAY_HTTP_PORT = '{bad}' \\(environment\\): expected a TCP port"):
            config.load(env={"SYNTHPAY_HTTP_PORT": bad}, cwd=tmp_path)
