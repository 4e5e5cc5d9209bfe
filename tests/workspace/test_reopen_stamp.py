"""`curator review FILE` reopens an unchanged file without reading it again (issue 15): the
file's stamp (size, times, inode) is recorded at import and compared; a changed file is still
found, whatever its size and modification time say."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import curator.workspace.importer as importer
from curator.cli.review import already_imported, workspace_for
from curator.workspace import Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

ROW = ('{"messages": [{"role": "user", "content": "q%d"}, '
       '{"role": "assistant", "content": "a%d"}]}\n')


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "d.jsonl"
    data.write_text("".join(ROW % (i, i) for i in range(5)))
    ws_path = workspace_for(data)
    with Workspace.open(ws_path, create=True) as ws:
        import_files(ws, [data], Preparer("openai", count_tokens=False))
    return data, ws_path


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the import side hashes from now on (the real hash still runs)."""
    seen: list[Path] = []
    real = importer._sha256

    def spy(path: Path) -> Any:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(importer, "_sha256", spy)
    return seen


def test_an_unchanged_file_is_not_hashed_again(imported: tuple[Path, Path],
                                               hashes: list[Path]) -> None:
    data, ws_path = imported
    assert already_imported(ws_path, data)
    assert already_imported(ws_path, data)
    assert hashes == []


def test_a_rewrite_of_the_same_size_and_mtime_is_found(imported: tuple[Path, Path],
                                                       hashes: list[Path]) -> None:
    data, ws_path = imported
    st = data.stat()
    text = data.read_text()
    data.write_text(text.replace("q3", "x3"))  # same size, other bytes
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old modification time
    assert data.stat().st_size == st.st_size and data.stat().st_mtime_ns == st.st_mtime_ns
    assert not already_imported(ws_path, data)
    assert hashes == [data]


def test_a_file_replaced_by_another_is_found(imported: tuple[Path, Path], tmp_path: Path) -> None:
    data, ws_path = imported
    other = tmp_path / "other.jsonl"
    other.write_text(data.read_text().replace("a4", "b4"))
    os.replace(other, data)
    assert not already_imported(ws_path, data)


def test_a_touched_file_with_the_same_bytes_is_hashed_once(imported: tuple[Path, Path],
                                                           hashes: list[Path]) -> None:
    data, ws_path = imported
    st = data.stat()
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert already_imported(ws_path, data)
    assert hashes == [data]  # the bytes are the imported ones: the new stamp is kept
    assert already_imported(ws_path, data)
    assert hashes == [data]


def test_a_workspace_without_stamps_hashes_once_then_not(imported: tuple[Path, Path],
                                                         hashes: list[Path]) -> None:
    """A workspace imported before the stamps were recorded: the first reopen hashes."""
    data, ws_path = imported
    with Workspace.open(ws_path) as ws:
        ws.connection.execute("DELETE FROM meta WHERE key LIKE 'import.%.file_stamp'")
        ws.connection.commit()
    assert already_imported(ws_path, data)
    assert already_imported(ws_path, data)
    assert hashes == [data]
