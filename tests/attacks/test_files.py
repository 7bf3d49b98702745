"""Commands that write a file: never over what the user made without being told.

Issue 12, items 2 and 4: ``new`` and ``rollup`` replaced existing workbooks without a
word (also while Excel had them open); a read-only workbook was replaced, a link became
a regular file, an unreadable file was "not an Excel workbook", a read-only folder, a
full disk and ``| head -2`` ended in tracebacks; an import followed by a refresh lost
the pre-import file from the backup.
"""

from __future__ import annotations

import errno
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_xl.io import safety
from pipeline_xl.io.package import Package
from tests.attacks.books import changed_amounts, write_export
from tests.attacks.conftest import ROOT

pytestmark = pytest.mark.libreoffice

NEW_ARGS = ("--sample", "20", "--as-of", "2026-03-15")
CLI = Path(sys.executable).parent / "pipeline-xl"


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_new_refuses_an_existing_workbook_and_its_module(book, run, opened):
    module = book.with_suffix(".py")
    module.write_text("# the user's own code\n")
    before = book.read_bytes()
    ran = run("new", book, *NEW_ARGS)
    assert ran.code == 2
    assert ran.err == (
        "pipeline-xl: Book.xlsm already exists: pipeline-xl new does not replace a file unless "
        "told; nothing was written (expected another file name, or --replace (the old file is "
        "kept as Book.xlsm.bak))\n"
    )
    assert book.read_bytes() == before
    assert module.read_text() == "# the user's own code\n"
    assert "Traceback" not in ran.err
    assert "Prospects" in opened(book)


def test_new_replace_keeps_the_old_workbook(book, run, opened):
    before = book.read_bytes()
    ran = run("new", book, *NEW_ARGS, "--replace")
    assert ran.code == 0, ran.err
    assert Path(f"{book}.bak").read_bytes() == before
    assert book.read_bytes() != before
    assert "Prospects" in opened(book)


def test_rollup_with_a_forgotten_output_name_changes_nothing(book, tmp_path, run):
    bob = tmp_path / "Bob.xlsm"
    shutil.copyfile(book, bob)
    ann = tmp_path / "Ann.xlsm"
    book.rename(ann)
    before = ann.read_bytes()
    ran = run("rollup", ann, bob)
    assert ran.code == 2
    assert ran.err == (
        "pipeline-xl: Ann.xlsm already exists: the first name is the team workbook to write, "
        "and rollup does not replace a file unless told; nothing was written (expected a new "
        "team workbook name first (pipeline-xl rollup Team.xlsm Ann.xlsm ...), or --replace "
        "to replace Ann.xlsm (kept as Ann.xlsm.bak))\n"
    )
    assert ann.read_bytes() == before


@pytest.mark.parametrize(
    "opener", [("~$Book.xlsm", "Excel"), (".~lock.Book.xlsm#", "LibreOffice")], ids=["excel", "lo"]
)
@pytest.mark.parametrize("command", ["new", "refresh", "import"])
def test_a_workbook_open_elsewhere_is_refused(book, tmp_path, run, opener, command):
    lock, app = opener
    (book.parent / lock).write_text("user")
    before = book.read_bytes()
    if command == "import":
        rows = changed_amounts(book, [2])
        export = write_export(tmp_path / "x.csv", rows, ["ID", "Stage", "Amount"])
        ran = run("import", export, "--into", book)
    elif command == "new":
        ran = run("new", book, *NEW_ARGS, "--replace")
    else:
        ran = run("refresh", book)
    assert (ran.code, ran.err) == (
        2, f"pipeline-xl: Book.xlsm is open in {app} (lock file {lock}): close it and try again\n"
    )  # fmt: skip
    assert book.read_bytes() == before


def test_a_read_only_workbook_is_refused(book, run, opened):
    book.chmod(0o444)
    before = book.read_bytes()
    ran = run("refresh", book)
    assert ran.code == 2
    assert ran.err == (
        "pipeline-xl: Book.xlsm is read-only: nothing was written (expected a workbook you may "
        "change (clear its read-only setting first))\n"
    )
    assert book.read_bytes() == before
    assert stat.S_IMODE(book.stat().st_mode) == 0o444
    assert "Prospects" in opened(book)


def test_a_link_is_followed_and_stays_a_link(book, tmp_path, run, opened):
    real = tmp_path / "data" / "Real.xlsm"
    real.parent.mkdir()
    book.rename(real)
    link = tmp_path / "Book.xlsm"
    link.symlink_to(real)
    before = real.read_bytes()
    ran = run("refresh", link, "--as-of", "2026-03-22")
    assert ran.code == 0, ran.err
    assert link.is_symlink()
    assert link.resolve() == real.resolve()
    assert real.read_bytes() != before
    assert (real.parent / "Real.xlsm.bak").read_bytes() == before  # beside the real file
    assert not (tmp_path / "Book.xlsm.bak").exists()
    assert "Variance" in opened(real)


def test_an_unreadable_workbook_says_so(book, run, monkeypatch):
    # Tests may run as root, who reads every file: the system's answer is stood in for.
    real_read = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self.name == "Book.xlsm":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    ran = run("refresh", book)
    assert (ran.code, ran.err) == (2, "pipeline-xl: Book.xlsm cannot be read: Permission denied\n")


def test_a_folder_that_cannot_be_written(book, run, monkeypatch, opened):
    before = book.read_bytes()

    def denied(tmp: Path, data: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp))

    monkeypatch.setattr(safety, "_write_temp", denied)
    ran = run("refresh", book)
    assert ran.code == 2
    assert ran.err == (
        f"pipeline-xl: cannot write in the folder {book.parent.resolve()}: permission denied; "
        "Book.xlsm is unchanged (expected a folder you may write in)\n"
    )
    assert book.read_bytes() == before
    assert [n for n in _listing(book.parent) if n.endswith("tmp")] == []
    assert "Prospects" in opened(book)


def test_a_full_disk(book, run, monkeypatch, opened):
    before = book.read_bytes()

    def full(tmp: Path, data: object) -> None:
        tmp.write_bytes(b"half")  # what got written before the disk filled up
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    monkeypatch.setattr(safety, "_write_temp", full)
    ran = run("refresh", book)
    assert ran.code == 2
    assert ran.err == (
        f"pipeline-xl: the disk holding {book.parent.resolve()} is full: Book.xlsm is unchanged "
        "(expected some free space, then try again)\n"
    )
    assert "Traceback" not in ran.err
    assert book.read_bytes() == before
    assert [n for n in _listing(book.parent) if n.endswith("tmp")] == []
    assert "Prospects" in opened(book)


def test_output_into_a_closed_pipe_ends_quietly(book):
    command = [str(CLI), "metrics", str(book)]
    child = subprocess.Popen(  # noqa: S603 - fixed arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    assert child.stdout is not None
    child.stdout.close()  # the reader is gone before anything is printed
    _, err = child.communicate(timeout=120)
    assert (child.returncode, err.decode()) == (141, "")
    shell = subprocess.run(  # noqa: S603 - fixed arguments, the pipe of the issue
        ["/bin/sh", "-c", f'"{CLI}" metrics "{book}" | head -2'],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert len(shell.stdout.splitlines()) == 2
    assert "Traceback" not in shell.stderr
    assert "BrokenPipeError" not in shell.stderr


def test_import_then_refresh_keeps_the_pre_import_file(book, tmp_path, run, opened):
    original = book.read_bytes()
    export = write_export(
        tmp_path / "c.csv", changed_amounts(book, [2, 3]), ["ID", "Stage", "Amount"]
    )
    assert run("import", export, "--into", book).code == 0
    imported = book.read_bytes()
    assert run("refresh", book, "--as-of", "2026-03-22").code == 0
    assert Path(f"{book}.bak").read_bytes() == imported  # the file before the refresh
    assert Path(f"{book}.bak.1").read_bytes() == original  # the file before the import
    for backup in (Path(f"{book}.bak"), Path(f"{book}.bak.1")):
        assert "Prospects" in opened(backup.rename(backup.with_suffix(".xlsm")))
    assert Package.from_bytes(book.read_bytes()).sheet("Variance")
