"""Workbooks, on-demand exports and their folders get the umask's normal permissions."""

import os
import stat
from pathlib import Path

import pytest

from orchestration.exports.files import (
    process_umask,
    write_file_atomically,
    write_folder_atomically,
)


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    previous = os.umask(0o022)
    yield set_mask
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)]
)
def test_atomic_files_and_folders_follow_the_umask(umask, tmp_path, mask, file_mode, dir_mode):
    umask(mask)
    assert process_umask() == mask
    book = write_file_atomically(tmp_path / "team" / "day" / "book.xlsx", lambda h: h.write(b"x"))
    assert mode(book) == file_mode
    assert mode(book.parent) == dir_mode

    def write(folder: Path) -> list[str]:
        (folder / "usage.csv").write_text("a\n")
        write_file_atomically(folder / "export.xlsx", lambda h: h.write(b"y"))
        return ["usage.csv", "export.xlsx"]

    files = write_folder_atomically(tmp_path / "team" / "on-demand" / "20260302T000000Z", write)
    assert [mode(p) for p in files] == [file_mode, file_mode]
    assert mode(files[0].parent) == dir_mode
    assert mode(files[0].parent.parent) == dir_mode
