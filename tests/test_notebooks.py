"""Every notebook in notebooks/ runs top to bottom against a demo pool, and is committed clean.

Each notebook is executed in a fresh Jupyter kernel (nbclient + ipykernel) that runs on this
interpreter, with `WATCHBUDDY_WAREHOUSE` pointing at a demo pool built from the shared
`demo_dir` fixture; a cell that raises fails the test. Two pools: the plain demo pool (the
`votes` table is empty, as after a first `make run`) and the same pool after a vote refresh.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap

nbformat = pytest.importorskip("nbformat", reason="nbformat is a dev dependency")
nbclient = pytest.importorskip("nbclient", reason="nbclient is a dev dependency")
ipykernel_kernelspec = pytest.importorskip(
    "ipykernel.kernelspec", reason="ipykernel is a dev dependency"
)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REFRESHED_TITLES = 25

# Text that must appear in a notebook's outputs, so that a notebook whose cells all print
# nothing (or an empty frame) cannot pass. Keyed by notebook file name, then by pool.
EXPECTED_OUTPUT: dict[str, dict[str, list[str]]] = {
    "explore_pool.ipynb": {
        "any": [
            "obscurity_score",  # (a) top obscure titles per language
            "language_titles",
            "freshness_score",  # (b) recent titles by vote count
            "Science Fiction",  # (c) the genre pivot has a column per genre
            "broken record",  # (d) the demo data's malformed rows, grouped by reason
            "missing title",
        ],
        "demo": ["0 recent titles have a vote refresh"],
        "refreshed": [f"{REFRESHED_TITLES} recent titles have a vote refresh"],
    },
}


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("notebook-pool")
    bootstrap(Settings(data_dir=demo_dir, warehouse=root / "warehouse"))
    return root / "warehouse"


@pytest.fixture(scope="module")
def refreshed_warehouse(tmp_path_factory: pytest.TempPathFactory, demo_warehouse: Path) -> Path:
    """The demo pool plus one vote refresh of recent titles, as `refresh-votes` publishes it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import watchbuddy
    from watchbuddy.store.schema import VOTE_SCHEMA
    from watchbuddy.store.warehouse import Warehouse

    root = tmp_path_factory.mktemp("notebook-pool-refreshed") / "warehouse"
    shutil.copytree(demo_warehouse, root)
    recent = (
        watchbuddy.connect(root)
        .sql(
            "SELECT media_type, tmdb_id, vote_average, vote_count, popularity FROM pool "
            "WHERE release_date BETWEEN current_date - INTERVAL 2 YEAR AND current_date "
            f"ORDER BY media_type, tmdb_id LIMIT {REFRESHED_TITLES}"
        )
        .pl()
    )
    assert recent.height == REFRESHED_TITLES, "the demo data has too few recent titles"
    refreshed_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    table = pa.table(
        {
            "media_type": recent["media_type"].to_list(),
            "tmdb_id": recent["tmdb_id"].to_list(),
            "vote_average": recent["vote_average"].to_list(),
            "vote_count": [n * 2 + 10 for n in recent["vote_count"].to_list()],
            "popularity": recent["popularity"].to_list(),
            "refreshed_at": [refreshed_at] * recent.height,
        },
        schema=VOTE_SCHEMA,
    )
    warehouse = Warehouse(root)
    with warehouse.writer("test") as writer:
        tmp = writer.tmp_file()
        pq.write_table(table, tmp)
        writer.commit(add={"votes": [writer.stage("votes", tmp, "refresh-1.parquet")]})
    return root


@pytest.fixture
def this_python_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A `python3` kernelspec that runs this interpreter, found before any other.

    Without it the kernel could be whatever `python3` spec Jupyter finds first (a user-level
    one, another venv's): `JUPYTER_PATH` has the highest priority of the kernel search paths.
    """
    kernels = tmp_path / "jupyter" / "kernels"
    ipykernel_kernelspec.write_kernel_spec(path=str(kernels / "python3"))
    spec = json.loads((kernels / "python3" / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    monkeypatch.setenv("JUPYTER_PATH", str(kernels.parent))
    return "python3"


def output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data"):
            data = output.get("data", {})
            parts.append(data.get("text/plain", "") + data.get("text/html", ""))
    return "".join(parts)


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no .ipynb: the parametrized tests below ran nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} has outputs: clear them before committing"
            assert cell.execution_count is None, f"cell {index} has an execution count"


@pytest.mark.slow
@pytest.mark.parametrize("pool", ["demo", "refreshed"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_against_a_demo_pool(
    path: Path,
    pool: str,
    request: pytest.FixtureRequest,
    this_python_kernel: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warehouse = request.getfixturevalue(
        "demo_warehouse" if pool == "demo" else "refreshed_warehouse"
    )
    # The kernel process inherits this environment; the notebook calls watchbuddy.connect().
    monkeypatch.setenv("WATCHBUDDY_WAREHOUSE", str(warehouse))
    monkeypatch.delenv("WATCHBUDDY_CONFIG", raising=False)
    workdir = tmp_path / "cwd"  # the kernel's working directory: no watchbuddy.toml in it
    workdir.mkdir()

    nb = nbformat.read(path, as_version=4)
    code_cells = sum(cell.cell_type == "code" for cell in nb.cells)
    # Appended to this in-memory copy only: which interpreter the kernel really ran.
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name=this_python_kernel,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()  # raises CellExecutionError on the first cell that fails

    *cells, probe = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert output_text(probe).strip() == sys.executable
    assert len(cells) == code_cells
    assert all(cell.execution_count is not None for cell in cells)
    text = "\n".join(output_text(cell) for cell in cells)
    expected = EXPECTED_OUTPUT.get(path.name, {})
    for snippet in expected.get("any", []) + expected.get(pool, []):
        assert snippet in text, f"{path.name} on the {pool} pool: no output contains {snippet!r}"
    assert sum(bool(output_text(cell)) for cell in cells) >= code_cells // 2, (
        "most cells printed nothing"
    )
