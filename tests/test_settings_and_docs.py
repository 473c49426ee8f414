"""Settings: every one is documented in the README, read from the environment and a toml file."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchbuddy.cli import cli
from watchbuddy.errors import ConfigError
from watchbuddy.settings import SETTINGS, Secret, load_settings

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_documented_in_the_readme(spec) -> None:
    text = README.read_text(encoding="utf-8")
    assert f"`{spec.env}`" in text, f"README.md does not document {spec.env}"


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_documented_in_the_readme(name: str) -> None:
    assert f"watchbuddy {name}" in README.read_text(encoding="utf-8")


def test_environment_overrides_toml_and_relative_dirs_follow_the_file(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "watchbuddy.toml"
    config.parent.mkdir()
    config.write_text('warehouse = "wh"\ntmdb_rps = 10\n')
    settings = load_settings(
        {"WATCHBUDDY_CONFIG": str(config), "WATCHBUDDY_TMDB_RPS": "20"}, cwd=tmp_path
    )
    assert settings.warehouse == config.parent / "wh"
    assert settings.tmdb_rps == 20.0


def test_unknown_toml_setting_is_refused(tmp_path: Path) -> None:
    (tmp_path / "watchbuddy.toml").write_text("warehous = 'typo'\n")
    with pytest.raises(ConfigError, match="unknown settings warehous"):
        load_settings({}, cwd=tmp_path)


def test_credentials_never_show_in_repr() -> None:
    settings = load_settings(
        {"TMDB_API_KEY": "sekrit-key-123", "TMDB_READ_ACCESS_TOKEN": "sekrit-token-456"},
        cwd=Path("/"),
    )
    assert settings.has_tmdb_credential
    text = repr(settings) + str(settings)
    assert "sekrit" not in text
    assert isinstance(settings.tmdb_api_key, Secret)
    assert settings.tmdb_api_key.reveal() == "sekrit-key-123"
