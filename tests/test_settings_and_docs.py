"""Settings: every one is documented in the README, read from the environment and a toml file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from watchbuddy.cli import cli
from watchbuddy.devtools.demo import generate
from watchbuddy.errors import ConfigError
from watchbuddy.explorer.query_params import filters_from_params
from watchbuddy.pool.candidates import COMPONENTS, MODES, CandidateProvider
from watchbuddy.query.readonly import run_query
from watchbuddy.settings import SETTINGS, Secret, Settings, load_settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.warehouse import Warehouse

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


def test_the_readme_modes_table_is_the_one_in_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    for name, mode in MODES.items():
        weights = [getattr(mode, c) for c in COMPONENTS]
        cells = [name, str(mode.min_votes), *(f"{w:.2f}" if w else "0" for w in weights)]
        assert f"| {' | '.join(cells)} |" in text, f"README's row for mode {name} is stale"


@pytest.fixture(scope="module")
def make_run_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pool `make run` lands on an empty data dir: the default demo size and seed."""
    root = tmp_path_factory.mktemp("readme")
    generate(50_000, root / "data")
    bootstrap(Settings(data_dir=root / "data", warehouse=root / "wh"))
    return root / "wh"


def test_the_readme_example_link_and_queries_return_rows_on_the_demo_data(
    make_run_demo: Path,
) -> None:
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"`/\?([^`]+)`", text)
    assert links
    for link in links:
        parsed = filters_from_params(dict(pair.split("=") for pair in link.split("&")))
        assert not parsed.notes, (link, parsed.notes)
        found = CandidateProvider(Warehouse(make_run_demo)).get(parsed.filters)
        assert found.frame.height > 0, f"the README's link {link} shows nothing on the demo"
    queries = re.findall(r'watchbuddy sql "(SELECT[^"]+)"', text)
    assert queries
    for query in queries:
        rows = run_query(Warehouse(make_run_demo), " ".join(query.split()))
        assert rows.height > 0, f"the README's query returns nothing on the demo: {query}"
