"""benchmarks/calibration.md has three writers; each rewrites only its own blocks (benchmarks/page_blocks.py).

The page's sections 1–5 come from ``calibration.py``, 6–7 from ``calibration_best.py`` and 8 from
``calibration_verdicts.py`` (one block per subsection), each run taking minutes. These tests pin
what made the page lose sections before: a rerun of one writer must leave every other byte of the
page as it was, a block the page lacks is appended, and markers that do not pair up stop the
write with one line naming the file and line, before any simulation runs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "benchmarks" / "calibration.md"
WRITERS = ("calibration.py", "calibration_best.py", "calibration_verdicts.py", "calibration_verdicts.py:gate",
           "calibration_verdicts.py:bayes", "calibration_verdicts.py:units")

_spec = importlib.util.spec_from_file_location("page_blocks", ROOT / "benchmarks" / "page_blocks.py")
assert _spec is not None and _spec.loader is not None
page_blocks = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("page_blocks", page_blocks)  # its dataclass looks its module up by name
_spec.loader.exec_module(page_blocks)


def split_at(text: str, name: str) -> tuple[str, str, str]:
    """(before the begin marker, the body, after the end marker's line), found by plain string search."""
    begin, end = f"<!-- {name}:begin -->\n", f"<!-- {name}:end -->\n"
    before, rest = text.split(begin)
    body, after = rest.split(end)
    return before, body, after


def test_the_page_has_each_writers_blocks_in_order() -> None:
    assert list(page_blocks.blocks(PAGE.read_text(), str(PAGE))) == list(WRITERS)


@pytest.mark.parametrize("name", WRITERS)
def test_rewriting_one_block_leaves_every_other_byte_of_the_page(tmp_path: Path, name: str) -> None:
    page = tmp_path / "calibration.md"
    original = PAGE.read_text()
    page.write_text(original)
    before, old_body, after = split_at(original, name)
    new_body = "## A rerun\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nRun time: 1 s.\n"

    page_blocks.write(page, {name: new_body})

    assert page.read_text() == f"{before}<!-- {name}:begin -->\n{new_body}<!-- {name}:end -->\n{after}"
    page_blocks.write(page, {name: new_body})  # a second identical rerun changes nothing
    assert page.read_text() == f"{before}<!-- {name}:begin -->\n{new_body}<!-- {name}:end -->\n{after}"
    page_blocks.write(page, {name: old_body})  # and the old body gives the page back byte for byte
    assert page.read_bytes() == PAGE.read_bytes()


def test_a_body_without_a_final_newline_still_ends_before_the_end_marker() -> None:
    text = "intro\n<!-- a:begin -->\nold\n<!-- a:end -->\noutro\n"
    assert page_blocks.replace(text, "a", "new") == "intro\n<!-- a:begin -->\nnew\n<!-- a:end -->\noutro\n"


@pytest.mark.parametrize(("page", "expected"), [
    ("# Title\n\ntext\n", "# Title\n\ntext\n\n<!-- b:begin -->\nbody\n<!-- b:end -->\n"),
    ("# Title\n\ntext", "# Title\n\ntext\n\n<!-- b:begin -->\nbody\n<!-- b:end -->\n"),
    ("text\n\n", "text\n\n<!-- b:begin -->\nbody\n<!-- b:end -->\n"),
    ("<!-- a:begin -->\nA\n<!-- a:end -->\n", "<!-- a:begin -->\nA\n<!-- a:end -->\n\n<!-- b:begin -->\nbody\n"
     "<!-- b:end -->\n"),
    ("", "<!-- b:begin -->\nbody\n<!-- b:end -->\n"),
], ids=["after-text", "no-final-newline", "after-a-blank-line", "after-another-block", "empty-page"])
def test_a_missing_block_is_appended_after_a_blank_line(page: str, expected: str) -> None:
    assert page_blocks.replace(page, "b", "body\n") == expected


def test_a_missing_page_is_created_with_the_blocks_in_the_order_given(tmp_path: Path) -> None:
    page = tmp_path / "new.md"
    page_blocks.check(page)
    page_blocks.write(page, {"x": "X\n", "x:y": "Y\n"})
    assert page.read_text() == "<!-- x:begin -->\nX\n<!-- x:end -->\n\n<!-- x:y:begin -->\nY\n<!-- x:y:end -->\n"
    assert [p.name for p in tmp_path.iterdir()] == ["new.md"]  # no temporary file left behind


BROKEN = [
    ("t\n<!-- a:begin -->\nbody\n", ":2: <!-- a:begin --> has no <!-- a:end --> after it"),
    ("t\nbody\n<!-- a:end -->\n", ":3: <!-- a:end --> has no <!-- a:begin --> before it"),
    ("<!-- a:end -->\nbody\n<!-- a:begin -->\n", ":1: <!-- a:end --> has no <!-- a:begin --> before it"),
    ("<!-- a:begin -->\n<!-- a:end -->\n<!-- a:begin -->\n<!-- a:end -->\n",
     ":3: a second <!-- a:begin --> (the first is on line 1)"),
    ("<!-- a:begin -->\n<!-- b:begin -->\n<!-- b:end -->\n<!-- a:end -->\n",
     ":2: <!-- b:begin --> inside block 'a', whose begin is on line 1"),
    ("<!-- a:begin -->\nx\n<!-- b:end -->\n<!-- a:end -->\n",
     ":3: <!-- b:end --> where block 'a' (begun on line 1) should end first"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN,
                         ids=["begin-only", "end-only", "end-before-begin", "twice", "nested", "crossed"])
def test_unpaired_markers_stop_the_write_with_one_line_and_leave_the_page(tmp_path: Path, text: str,
                                                                         message: str) -> None:
    page = tmp_path / "page.md"
    page.write_text(text)
    for attempt in ("check", "write"):
        with pytest.raises(page_blocks.MarkerError) as error:
            page_blocks.check(page) if attempt == "check" else page_blocks.write(page, {"a": "new\n"})
        assert str(error.value).startswith(f"{page}{message}")
        assert "\n" not in str(error.value)
    assert page.read_text() == text


def test_a_page_in_a_missing_folder_is_refused_before_the_run(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"^error: .*nowhere/page.md: its folder .* does not exist$"):
        page_blocks.ready(tmp_path / "nowhere" / "page.md")


def run_script(name: str, *args: str, worlds: int = 1, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *args], capture_output=True, text=True,
                          env={**os.environ, "CALIBRATION_WORLDS": str(worlds)}, timeout=timeout)


def test_a_script_refuses_a_broken_page_in_one_line_before_simulating(tmp_path: Path) -> None:
    page = tmp_path / "calibration.md"
    text = PAGE.read_text().replace("<!-- calibration_verdicts.py:bayes:end -->\n", "")
    page.write_text(text)
    # 10,000 worlds would take hours: a script that simulated first would not answer within the timeout
    done = run_script("calibration_verdicts.py", "--out", str(page), "gate", worlds=10_000, timeout=60)
    lines = text.splitlines()
    bayes, units = (lines.index(f"<!-- calibration_verdicts.py:{name}:begin -->") + 1 for name in ("bayes", "units"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {page}:{units}: <!-- calibration_verdicts.py:units:begin --> inside block "
        f"'calibration_verdicts.py:bayes', whose begin is on line {bayes} and whose end marker is missing or later"]
    assert done.stdout == ""
    assert page.read_text() == text


def test_a_partial_run_of_the_verdicts_script_rewrites_only_its_subsection(tmp_path: Path) -> None:
    """The real script, one world per row, into a copy of the page: §8.1 is new, all else is as it was."""
    page = tmp_path / "calibration.md"
    page.write_text(PAGE.read_text())
    done = run_script("calibration_verdicts.py", "gate", "--out", str(page))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{page}: rewrote block calibration_verdicts.py:gate\n"
    name = "calibration_verdicts.py:gate"
    old_before, old_body, old_after = split_at(PAGE.read_text(), name)
    new_before, new_body, new_after = split_at(page.read_text(), name)
    assert (new_before, new_after) == (old_before, old_after)
    assert new_body.startswith("### 8.1 `--fail-on-regression T`: non-inferiority (T = 0.004 RMSE, alpha 0.05)\n\n"
                               "1 worlds per row.")
    assert new_body.count("| 5 folds, t |") == 5 and new_body.count("| 5×5 CV, nb |") == 5
    assert new_body.splitlines()[-1].startswith("Run time of §8.1: ")
    assert old_body != new_body
