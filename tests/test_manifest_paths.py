"""A manifest names only the warehouse's own files. It is a plain JSON file that anyone can
edit, or that comes with a warehouse copied from someone else, and the next writer deletes
the files it retires: an entry pointing outside the warehouse must be refused, never read
and never deleted."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from watchbuddy.devtools.demo import generate

Edit = Callable[[dict[str, Any], Path], None]


def _retire(path: str) -> Edit:
    def edit(manifest: dict[str, Any], victim: Path) -> None:
        manifest["retired"] = [{"path": path.format(victim=victim), "retired_at": "2000-01-01"}]

    return edit


def _list_title(path: str) -> Edit:
    def edit(manifest: dict[str, Any], victim: Path) -> None:
        manifest["tables"]["titles"].append(path.format(victim=victim))

    return edit


def _set(key: str, value: Any) -> Edit:
    def edit(manifest: dict[str, Any], victim: Path) -> None:
        manifest[key] = value

    return edit


EDITS = {
    "retired absolute path": _retire("{victim}"),
    "retired path climbing out": _retire("titles/../../victim.parquet"),
    "retired file of no table": _retire("victim.parquet"),
    "retired entry without a time": lambda m, v: m.update(retired=[{"path": "titles/a.parquet"}]),
    "retired not a list": _set("retired", {"path": "x"}),
    "titles absolute path": _list_title("{victim}"),
    "titles path climbing out": _list_title("titles/../../victim.parquet"),
    "titles listing another table's file": _list_title("runs/x.parquet"),
    "tables not an object": _set("tables", ["titles/a.parquet"]),
    "manifest not an object": None,
}


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("manifest")
    generate(300, root / "data", seed=3)
    done = run_cli("bootstrap", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


@pytest.mark.parametrize("name", list(EDITS))
def test_a_manifest_entry_outside_the_warehouse_is_refused_and_nothing_is_deleted(
    landed: Path, tmp_path: Path, name: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "data").symlink_to(landed / "data")
    warehouse = project / "warehouse"
    shutil.copytree(landed / "warehouse", warehouse)
    victim = tmp_path / "victim.parquet"
    victim.write_text("precious")
    manifest = json.loads((landed / "warehouse" / "manifest.json").read_text())
    edit = EDITS[name]
    if edit is None:
        manifest = [manifest]
    else:
        edit(manifest, victim)
    (warehouse / "manifest.json").write_text(json.dumps(manifest))

    for command in (("bootstrap", "--force"), ("compact",), ("sql", "SELECT count(*) FROM titles")):
        done = run_cli(*command, cwd=project)
        assert done.returncode != 0, (command, done.stdout)
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert lines and "manifest.json is damaged" in lines[-1], done.stderr
    assert victim.read_text() == "precious"
