"""Settings are read from the environment and a toml file; the README documents every
setting, discovery mode, job, view, command and option (datasette's test_docs.py is the
model: each is a test of its own, so a gap is named by the test that fails)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

import watchbuddy
from watchbuddy.cli import cli
from watchbuddy.devtools.demo import generate
from watchbuddy.errors import ConfigError
from watchbuddy.explorer.query_params import filters_from_params
from watchbuddy.jobs.scheduler import JOBS
from watchbuddy.pool.candidates import COMPONENTS, MODES, CandidateProvider
from watchbuddy.query.readonly import run_query
from watchbuddy.settings import SETTINGS, Secret, Settings, load_settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.warehouse import Warehouse

README = Path(__file__).resolve().parent.parent / "README.md"


def section(title: str) -> str:
    """The README's `## title` section, up to the next `## ` heading."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else None]


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in `text` (`\\|` is a pipe inside a cell)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| "):
            rows.append([c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def command_rows() -> dict[tuple[str, ...], list[str]]:
    """The Command line table: command path -> its row (`watchbuddy jobs run NAME` is the
    row of ("jobs", "run"); the words after the path are its options and arguments)."""
    rows = {}
    for cells in table_rows(section("Command line")):
        usage = cells[0].strip("`").split()
        if usage[:1] != ["watchbuddy"]:
            continue
        path: tuple[str, ...] = ()
        command: click.Command = cli
        for word in usage[1:]:
            if not (isinstance(command, click.Group) and word in command.commands):
                break
            command = command.commands[word]
            path = (*path, word)
        rows[path] = cells
    return rows


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_documented_in_the_readme(spec) -> None:
    text = README.read_text(encoding="utf-8")
    assert f"`{spec.env}`" in text, f"README.md does not document {spec.env}"
    assert f"| `{spec.env}` | `{spec.name}` |" in section("Configuration"), (
        f"the Configuration table has no row for {spec.env}"
    )


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_documented_in_the_readme(name: str) -> None:
    assert f"watchbuddy {name}" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", list(commands()), ids=" ".join)
def test_every_command_and_subcommand_has_a_row_with_its_options(path: tuple[str, ...]) -> None:
    """Each command's row shows every option and argument in its usage cell, the values of
    each choice (but the discovery modes, which have their own table) and no option that
    does not exist."""
    rows = command_rows()
    assert path in rows, f"the Command line table has no row for `watchbuddy {' '.join(path)}`"
    usage, *rest = rows[path]
    row = " ".join([usage, *rest])
    command = command_at(path)
    flags = set()
    for param in command.params:
        if isinstance(param, click.Option):
            flags.update(param.opts + param.secondary_opts)
            assert param.opts[0] in usage, f"{param.opts[0]} is missing from {usage}"
        elif not isinstance(param.type, click.Choice):
            assert (param.name or "").upper() in usage, f"{param.name} is missing from {usage}"
        if isinstance(param.type, click.Choice) and set(param.type.choices) != set(MODES):
            for choice in param.type.choices:
                assert str(choice) in row, f"{param.name} value {choice} is not in the row"
    stale = set(re.findall(r"--[a-z][a-z-]*", usage)) - flags
    assert not stale, f"`watchbuddy {' '.join(path)}` has no options {sorted(stale)}"


@pytest.mark.parametrize(
    "param", [p for p in cli.params if isinstance(p, click.Option)], ids=lambda p: p.opts[0]
)
def test_every_global_option_is_documented(param: click.Option) -> None:
    assert f"`{param.opts[0]}" in section("Command line"), f"{param.opts[0]} is not documented"


@pytest.mark.parametrize("name", sorted(MODES))
def test_every_discovery_mode_is_documented(name: str) -> None:
    assert any(cells[0] == name for cells in table_rows(section("Candidates"))), name


@pytest.mark.parametrize("name", [spec.name for spec in JOBS])
def test_every_job_is_documented(name: str) -> None:
    rows = table_rows(section("Scheduled jobs"))
    assert any(cells[0] == f"`{name}`" for cells in rows), f"no row for job {name}"
    assert f"`{name}`" in command_rows()[("jobs", "run")][1], f"`jobs run` does not list {name}"


def view_names() -> list[str]:
    """What a connection on an empty warehouse defines (every view exists from the start)."""
    import tempfile

    with tempfile.TemporaryDirectory() as root:
        con = watchbuddy.connect(root)
        try:
            return [
                name
                for (name,) in con.execute(
                    "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
                ).fetchall()
            ]
        finally:
            con.close()


@pytest.mark.parametrize("name", view_names())
def test_every_view_is_documented(name: str) -> None:
    rows = table_rows(section("Views for notebooks and SQL"))
    assert any(cells[0] == f"`{name}`" for cells in rows), f"no row for view {name}"


def test_environment_overrides_toml_and_relative_dirs_follow_the_file(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "watchbuddy.toml"
    config.parent.mkdir()
    config.write_text('warehouse = "wh"\ntmdb_rps = 10\n')
    settings = load_settings(
        {"WATCHBUDDY_CONFIG": str(config), "WATCHBUDDY_TMDB_RPS": "20"}, cwd=tmp_path
    )
    assert settings.warehouse == config.parent / "wh"
    assert settings.tmdb_rps == 20.0


def test_list_settings_read_commas_from_the_environment_and_arrays_from_toml(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        {"WATCHBUDDY_WATCH_REGIONS": " us, DE ,", "WATCHBUDDY_WATCH_PROVIDERS": "8,Disney Plus"},
        cwd=tmp_path,
    )
    assert settings.watch_regions == ("US", "DE")
    assert settings.watch_providers == ("8", "Disney Plus")
    assert load_settings({}, cwd=tmp_path).watch_regions == ()
    (tmp_path / "watchbuddy.toml").write_text('watch_regions = ["gb"]\n')
    assert load_settings({}, cwd=tmp_path).watch_regions == ("GB",)
    (tmp_path / "watchbuddy.toml").write_text('watch_regions = "USA"\n')
    with pytest.raises(ConfigError, match="'USA', which is not a country code"):
        load_settings({}, cwd=tmp_path)
    (tmp_path / "watchbuddy.toml").write_text("watch_regions = [1]\n")
    with pytest.raises(ConfigError, match="invalid value"):
        load_settings({}, cwd=tmp_path)


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
