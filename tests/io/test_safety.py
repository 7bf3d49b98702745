"""Zip-bomb and path checks, the lock-file check and atomic writes with a backup."""

from __future__ import annotations

import errno
import io
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipeline_xl.core.errors import InputError
from pipeline_xl.io import safety
from pipeline_xl.io.safety import (
    atomic_write,
    backup_path,
    backup_paths,
    check_not_open,
    check_zip,
    human_size,
)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


class TestCheckZip:
    def test_it_finds_the_parts_that_hold_given_bytes(self, monkeypatch):
        from pipeline_xl.io import zipguard

        monkeypatch.setattr(zipguard, "CHUNK", 7)  # marks cut by every chunk boundary
        parts = {
            "xl/worksheets/sheet1.xml": b"<c r='A1' t=\"n\"><v>1</v></c>" * 20,
            "xl/worksheets/sheet2.xml": b"x" * 61 + b'<c r="B7" t="e"><v>#N/A</v></c>',
            "xl/worksheets/sheet3.xml": b"<c t='e'/>",
            "xl/sharedStrings.xml": b't=e t="E"',
        }
        for stored in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", stored) as zf:
                for name, data in parts.items():
                    zf.writestr(name, data)
            found = check_zip(out.getvalue(), find=(b't="e"', b"t='e'"))
            assert found == {"xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"}
            assert check_zip(out.getvalue()) == frozenset()

    def test_a_plain_package_passes(self, tmp_path):
        data = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
        check_zip(data)
        (tmp_path / "ok.xlsx").write_bytes(data)
        check_zip(tmp_path / "ok.xlsx")

    def test_a_part_that_expands_too_much(self):
        # 12 MB of one byte deflates to about 12 kB: a ratio near 1000:1, above 10 MB.
        data = _zip({"xl/sharedStrings.xml": b"a" * 12_000_000})
        with pytest.raises(InputError) as err:
            check_zip(data, name="Book.xlsm")
        message = str(err.value)
        assert message.startswith("refusing Book.xlsm: its part xl/sharedStrings.xml expands to ")
        assert "12.0 MB from" in message
        assert "which looks like a zip bomb" in message

    def test_a_small_part_may_compress_well(self):
        check_zip(_zip({"xl/sharedStrings.xml": b"a" * 5_000_000}))  # under the 10 MB floor

    def test_total_size(self):
        data = _zip({f"xl/part{i}.xml": b"x" * 1000 for i in range(5)})
        with pytest.raises(InputError, match=r"its parts expand to 5\.0 kB"):
            check_zip(data, max_total=4000)

    def test_too_many_members(self):
        data = _zip({f"p{i}.xml": b"" for i in range(4)})
        with pytest.raises(InputError, match="it holds 4 parts"):
            check_zip(data, max_members=3)

    @pytest.mark.parametrize(
        "name", ["../evil.xml", "/etc/evil.xml", "xl/../../evil.xml", "C:/x.xml"]
    )
    def test_names_that_leave_the_package(self, name):
        with pytest.raises(InputError, match="points outside the package"):
            check_zip(_zip({name: b"<x/>"}))

    def test_not_a_zip(self, tmp_path):
        with pytest.raises(InputError, match=r"Book\.xlsx is not an Excel workbook"):
            check_zip(b"hello", name="Book.xlsx")
        with pytest.raises(InputError, match="does not exist"):
            check_zip(tmp_path / "missing.xlsx")

    @pytest.mark.parametrize(
        ("size", "text"),
        [(512, "512 bytes"), (1_200, "1.2 kB"), (1_200_000, "1.2 MB"), (1024**3, "1.0 GiB")],
    )
    def test_human_size(self, size, text):
        assert human_size(size) == text


class TestLockFile:
    def test_excel_lock(self, tmp_path):
        book = tmp_path / "Book.xlsm"
        book.write_bytes(b"x")
        check_not_open(book)
        (tmp_path / "~$Book.xlsm").write_bytes(b"user")
        with pytest.raises(InputError) as err:
            check_not_open(book)
        assert str(err.value) == (
            "Book.xlsm is open in Excel (lock file ~$Book.xlsm): close it and try again"
        )

    def test_libreoffice_lock(self, tmp_path):
        (tmp_path / ".~lock.Book.xlsm#").write_text("user")
        with pytest.raises(InputError, match="open in LibreOffice"):
            check_not_open(tmp_path / "Book.xlsm")


class TestAtomicWrite:
    def test_new_file_has_no_backup(self, tmp_path):
        target = tmp_path / "new.xlsx"
        assert atomic_write(target, b"one") is None
        assert target.read_bytes() == b"one"

    def test_backups_keep_the_previous_versions(self, tmp_path):
        target = tmp_path / "Book.xlsm"
        target.write_bytes(b"v1")
        target.chmod(0o640)
        assert atomic_write(target, b"v2") == backup_path(target)
        assert atomic_write(target, b"v3") == tmp_path / "Book.xlsm.bak"
        assert target.read_bytes() == b"v3"
        assert backup_path(target).read_bytes() == b"v2"  # the file before the latest write
        assert (tmp_path / "Book.xlsm.bak.1").read_bytes() == b"v1"
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
        atomic_write(target, b"v4")
        atomic_write(target, b"v5")
        assert [p.read_bytes() for p in backup_paths(target)] == [b"v4", b"v3", b"v2"]
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "Book.xlsm", "Book.xlsm.bak", "Book.xlsm.bak.1", "Book.xlsm.bak.2",
        ]  # fmt: skip

    def test_without_backup(self, tmp_path):
        target = tmp_path / "Book.xlsm"
        target.write_bytes(b"v1")
        assert atomic_write(target, b"v2", backup=False) is None
        assert not backup_path(target).exists()

    def test_failure_leaves_the_original_and_no_temp_file(self, tmp_path, monkeypatch):
        target = tmp_path / "Book.xlsm"
        target.write_bytes(b"original")

        def boom(tmp: Path) -> None:
            assert tmp.read_bytes() == b"new"  # the new bytes are complete before the swap
            raise OSError(errno.EIO, "disk gone")

        monkeypatch.setattr(safety, "_before_replace", boom)
        with pytest.raises(InputError) as err:
            atomic_write(target, b"new", backup=False)
        assert str(err.value) == "cannot write Book.xlsm: disk gone; Book.xlsm is unchanged"
        assert target.read_bytes() == b"original"
        assert [p.name for p in tmp_path.iterdir()] == ["Book.xlsm"]

    def test_only_temp_files_of_ended_processes_are_cleared(self, tmp_path):
        target = tmp_path / "Book.xlsm"
        target.write_bytes(b"v1")
        ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                               capture_output=True, text=True, check=True)  # fmt: skip
        dead, alive = int(ended.stdout), os.getpid()
        host = safety._HOST  # the temporary names' host tag
        (tmp_path / f".Book.xlsm.{host}.{dead}.0123abcd.tmp").write_bytes(b"half")
        (tmp_path / f".Book.xlsm.{host}.{alive}.4567abcd.tmp").write_bytes(b"running")
        (tmp_path / f".Book.xlsm.other1.{dead}.89abcdef.tmp").write_bytes(b"another machine")
        (tmp_path / ".Book.xlsm.notes").write_bytes(b"keep")  # not one of ours
        atomic_write(target, b"v2", backup=False)
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            f".Book.xlsm.{host}.{alive}.4567abcd.tmp",
            ".Book.xlsm.notes",
            f".Book.xlsm.other1.{dead}.89abcdef.tmp",
            "Book.xlsm",
        ]
