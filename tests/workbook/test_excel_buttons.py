"""The classic workbook's buttons and note: Refresh whatever the file name, recalculation hint.

The macros must exist in xlwings' standalone VBA (the only VBA in the workbook); the
installed xlwings' ``xlwings.bas``, of the same version as the project the builder embeds,
is the witness of their signatures.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import xlwings as xw

from pipeline_xl.usecases.new import new_workbook
from pipeline_xl.workbook.dashboard_writer import CLASSIC_HINT, LITE_HINT
from pipeline_xl.workbook.vba import quickstart_vba
from tests.workbook import xlsx_parts as xp
from tests.workbook.handmade import AS_OF

# Excel stores a button macro with an argument as the quoted call (a public workbook saved
# by Excel has <x:FmlaMacro>'Macro("arg")'</x:FmlaMacro>); a string argument in VBA is in
# double quotes, and RunPython takes one String.
RUN_PYTHON_CALL = re.compile(r"""'RunPython "([^"]+)"'""")
CMD_SPECIAL = set('&|<>^%"')  # RunPython hands the command to cmd.exe /C python -c "..."


def _bas() -> str:
    return (Path(xw.__file__).parent / "xlwings.bas").read_text(encoding="utf-8", errors="replace")


def _buttons(path: Path) -> dict[str, str]:
    book = xp.open_book(path)
    return {b["caption"]: b["macro"] for b in xp.buttons(book, book.sheet("Dashboard"))}


@pytest.fixture(scope="module")
def two_names(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same empty workbook built as acme.xlsm and as globex_copy.xlsm."""
    folder = tmp_path_factory.mktemp("names")
    first = new_workbook(folder / "acme.xlsm", company="A", sample=None, as_of=AS_OF)
    second = new_workbook(folder / "globex_copy.xlsm", company="A", sample=None, as_of=AS_OF)
    return first, second


class TestRefreshButton:
    def test_macro_does_not_depend_on_the_file_name(self, two_names, tmp_path):
        first, second = two_names
        copy = tmp_path / "Book (1).xlsm"  # what "Save as" of a copy gives
        shutil.copyfile(first, copy)
        macros = {_buttons(p)["Refresh reports"] for p in (first, second, copy)}
        assert len(macros) == 1
        (macro,) = macros
        assert "acme" not in macro
        assert "globex" not in macro
        assert "SampleCall" not in macro  # the quickstart macro imports <file name>.py

    def test_macro_calls_run_python_with_one_command(self, two_names):
        macro = _buttons(two_names[0])["Refresh reports"]
        found = RUN_PYTHON_CALL.fullmatch(macro)
        assert found is not None, macro
        assert not CMD_SPECIAL & set(found[1])

    def test_run_python_and_import_exist_in_xlwings_standalone_vba(self):
        bas = _bas()
        version = re.search(r'XLWINGS_VERSION As String = "([^"]+)"', bas)
        assert version is not None
        assert version[1] == quickstart_vba().xlwings_version
        assert re.search(r"^Public Function RunPython\(PythonCommand As String\)", bas, re.M)
        assert re.search(r"^Sub ImportPythonUDFs\(\)", bas, re.M)
        # The quickstart project holds that module (its PROJECT stream is plain text).
        assert b"Module=xlwings" in quickstart_vba().project

    def test_the_command_runs_the_refresh_of_the_calling_workbook(self, two_names, monkeypatch):
        found = RUN_PYTHON_CALL.fullmatch(_buttons(two_names[0])["Refresh reports"])
        assert found is not None
        asked: list[str] = []

        class CalledError(Exception):
            pass

        def caller() -> None:
            asked.append("caller")
            raise CalledError

        monkeypatch.setattr(xw.Book, "caller", staticmethod(caller))
        # As RunPython runs it: a fresh interpreter namespace, no module beside the file.
        with pytest.raises(CalledError):
            exec(compile(found[1], "<RunPython>", "exec"), {})  # noqa: S102 - the command under test
        assert asked == ["caller"]


class TestNotes:
    def test_classic_note_beside_the_buttons_says_how_to_recalculate(self, two_names):
        book = xp.open_book(two_names[0])
        cells = xp.cells(book.sheet("Dashboard"))
        strings = xp.shared_strings(book)
        note = cells["F3"]
        assert note["t"] == "s"
        assert strings[int(str(note["v"]))] == CLASSIC_HINT
        assert "Import functions" in CLASSIC_HINT
        assert "Ctrl+Alt+F9" in CLASSIC_HINT

    def test_lite_note_says_to_open_the_add_in_once(self, tmp_path):
        path = new_workbook(tmp_path / "l.xlsx", company="A", sample=None, as_of=AS_OF, lite=True)
        book = xp.open_book(path)
        note = xp.cells(book.sheet("Dashboard"))["F3"]
        assert xp.shared_strings(book)[int(str(note["v"]))] == LITE_HINT
        assert "open it once" in LITE_HINT
