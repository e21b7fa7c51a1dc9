"""Issue 19, item 4: an error quotes at most a short, clipped excerpt of a value or a file.

Before: a 1 GB field became a 1 GB "one-line" error, and a ``ratings-file`` pointed at a system
file echoed its first line. The fields here are a few megabytes: enough to show the size of the
message does not follow the size of the input.
"""

from __future__ import annotations

import pytest

from benchmark.api import PluginInputError
from benchmark.errors import EXCERPT_CHARS, MESSAGE_CHARS, BenchError, clip, did_you_mean, excerpt
from benchmark.store import ResultStore, check_row
from benchmark.yamlsafe import load_yaml_text
from plugins.ratings_file import load_ratings_file

BIG = 5_000_000


# --- excerpt ------------------------------------------------------------------------------------


def test_a_short_value_is_quoted_whole():
    assert excerpt("great") == "'great'"
    assert excerpt(b"abc") == "'abc'"
    assert excerpt(3.5) == "3.5" and excerpt(None) == "None" and excerpt(["person"]) == "['person']"


def test_a_long_value_is_clipped_with_an_ellipsis_and_its_size():
    text = excerpt("x" * BIG)
    assert text == "'" + "x" * (EXCERPT_CHARS - 1) + "…' (5,000,000 characters)"
    assert excerpt(b"y" * BIG, 10) == "'yyyyyyyyy…' (5,000,000 bytes)"
    assert len(excerpt("é" * 81)) <= EXCERPT_CHARS + 30


def test_control_and_invisible_characters_are_escaped():
    assert excerpt("a\nb\r\x00\x1b[31m") == "'a\\nb\\r\\x00\\x1b[31m'"
    assert excerpt("abc\u202edef") == "'abc\\u202edef'"  # a bidi override cannot reorder the line
    assert excerpt("\ud800") == "'\\ud800'"  # a lone surrogate cannot crash the print to stderr
    assert excerpt(b"\xff\xfe") == "'\\xff\\xfe'"


def test_non_strings_are_bounded_too():
    assert len(excerpt(list(range(BIG)))) <= EXCERPT_CHARS
    assert len(excerpt({"k" * BIG: 1})) <= EXCERPT_CHARS
    assert excerpt(10 ** 5000) == "<an integer of 16,610 bits>"  # repr would raise past 4300 digits

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert excerpt(Broken()).startswith("<Broken")


def test_clip_keeps_newlines_but_bounds_the_length():
    assert clip("a\nb\x07", 10) == "a\nb\\x07"
    assert clip("z" * BIG, 5) == "zzzz…"


def test_a_bench_error_is_bounded_whatever_it_is_given():
    error = BenchError("m" * BIG, "w" * BIG)
    assert len(str(error)) <= MESSAGE_CHARS + 1002
    assert error.message.endswith("…") and error.where.endswith("…")
    assert str(BenchError("expected X, got Y", "suite.yaml:3: seed")) == "suite.yaml:3: seed: expected X, got Y"


# --- where excerpts are used ---------------------------------------------------------------------


def test_a_huge_field_of_a_ratings_file_is_an_excerpt(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating\n1,2,4\n1,3," + "9x" * (BIG // 2) + "\n")
    with pytest.raises(PluginInputError) as info:
        load_ratings_file(str(path))
    message = str(info.value)
    assert len(message) < 300, len(message)
    assert "r.csv:3: column 'rating' must be numeric, got '9x9x" in message and "(5,000,000 characters)" in message


def test_a_huge_column_name_is_an_excerpt(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("h" * BIG + ",item,rating\n1,2,4\n")
    with pytest.raises(PluginInputError) as info:
        load_ratings_file(str(path))
    assert len(str(info.value)) < 400


def test_a_system_file_given_as_ratings_is_not_echoed(tmp_path):
    """Like /etc/passwd: one "column" per line. The message says what was expected and names
    the file only."""
    path = tmp_path / "passwd"
    first = "root:x:0:0:root:/root:/bin/bash"
    path.write_text(first + "\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    with pytest.raises(PluginInputError) as info:
        load_ratings_file(str(path), format="csv")
    message = str(info.value)
    assert "root" not in message.replace(str(path), "") and "bash" not in message
    assert message == (f"{path}: no column 'user' for 'user'; the file has a single column (a first line "
                       f"of {len(first)} characters), not the columns user, item, rating: is it a ratings "
                       f"table, with the right sep?")


def test_a_system_file_split_by_its_own_separator_is_not_echoed(tmp_path):
    path = tmp_path / "passwd"
    path.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    with pytest.raises(PluginInputError) as info:
        load_ratings_file(str(path), format="csv", sep=":")
    message = str(info.value)
    assert "root" not in message.replace(str(path), "") and "bash" not in message
    assert "the file's first line holds numbers, not column names (7 columns)" in message


@pytest.mark.parametrize("header, shown", [
    ("/root,/bin/bash,x", "the file's first line does not look like column names (3 columns)"),
    ("1,2,4", "the file's first line holds numbers, not column names (3 columns): if it has no header, "
              "give header: false"),
])
def test_a_first_line_that_is_not_a_header_is_described_not_quoted(tmp_path, header, shown):
    path = tmp_path / "r.csv"
    path.write_text(header + "\n1,2,4\n")
    with pytest.raises(PluginInputError) as info:
        load_ratings_file(str(path))
    assert shown in str(info.value) and "bash" not in str(info.value)


def test_positions_without_a_header_are_described_by_count(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("1,2\n3,4\n")
    with pytest.raises(PluginInputError, match=r"no column 2 for 'rating'; the file has 2 columns \(0 to 1\)$"):
        load_ratings_file(str(path), header=False)


def test_a_real_header_is_still_listed(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("userId,movieId,rating\n1,2,4\n")
    with pytest.raises(PluginInputError, match=r"no column 'user' for 'user'; the file has userId, movieId, rating$"):
        load_ratings_file(str(path))


def test_a_huge_duplicate_yaml_key_is_an_excerpt():
    key = "k" * 900_000
    with pytest.raises(BenchError) as info:
        load_yaml_text(f"? {key}\n: 1\n? {key}\n: 2\n", "s.yaml")  # explicit keys: no 1024 limit
    assert len(str(info.value)) < 500 and "duplicate key 'kkk" in str(info.value)


def test_a_huge_metric_name_in_a_stored_row_is_an_excerpt(tmp_path):
    row = {"cell_id": "c", "status": "ok", "metrics": {"m" * BIG: "x"}}
    assert len(check_row(row) or "") < 100
    (tmp_path / "cells.jsonl").write_text(__import__("json").dumps(row) + "\n")
    warning = ResultStore(tmp_path).repair()
    assert warning is not None and len(warning) < 400


# --- did_you_mean -------------------------------------------------------------------------------


def test_did_you_mean_names_the_closest_choices_or_nothing():
    assert did_you_mean("rmes", ["rmse", "mae"]) == "did you mean 'rmse'?"
    assert did_you_mean("ab", ["abc", "abd", "x"], n=3, cutoff=0.5) == "did you mean 'abd' or 'abc'?"
    assert did_you_mean("zzz", ["rmse", "mae"]) == ""
    assert did_you_mean("rmes", {"rmse": 1}) == "did you mean 'rmse'?"  # a mapping's keys
