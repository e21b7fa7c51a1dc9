"""Issue 19, item 10: ``suite.yaml`` and ``environment.json`` in a results directory are read by
readers that never raise -- an alias bomb, non-UTF-8, a directory, a FIFO, a link, a huge file
each give ``(None, one warning line)`` in bounded time and memory."""

from __future__ import annotations

import json
import os
import tracemalloc

import pytest

from benchmark.store import ResultStore
from benchmark.files import read_stored_json
from benchmark.yamlsafe import read_stored_yaml

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9))
"""A "billion laughs": 10**10 values once expanded, a few hundred bytes on disk."""


def test_a_good_stored_suite_and_environment_are_read(tmp_path):
    (tmp_path / "suite.yaml").write_text("name: s\nmetrics: [rmse]\n")
    (tmp_path / "environment.json").write_text(json.dumps({"run_id": "r"}))
    assert read_stored_yaml(tmp_path / "suite.yaml") == ({"name": "s", "metrics": ["rmse"]}, None)
    assert read_stored_json(tmp_path / "environment.json") == ({"run_id": "r"}, None)


def test_a_missing_file_is_no_data_and_no_warning(tmp_path):
    assert read_stored_yaml(tmp_path / "suite.yaml") == (None, None)
    assert read_stored_json(tmp_path / "environment.json") == (None, None)
    assert read_stored_json(tmp_path / "nodir" / "environment.json") == (None, None)


@pytest.mark.timeout(60)
def test_an_alias_bomb_in_a_stored_suite_is_a_warning_in_bounded_memory(tmp_path):
    (tmp_path / "suite.yaml").write_text(BOMB)
    tracemalloc.start()
    try:
        data, warning = read_stored_yaml(tmp_path / "suite.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data is None
    assert warning == (f"{tmp_path / 'suite.yaml'}:5: too many values: more than 100,000 once aliases "
                       f"are expanded; the stored copy is ignored")
    assert peak < 50 * 2**20


@pytest.mark.parametrize("reader, name", [(read_stored_yaml, "suite.yaml"), (read_stored_json, "environment.json")])
def test_non_utf8_is_a_warning(tmp_path, reader, name):
    (tmp_path / name).write_bytes(b'{"a": "\xff\xfe"}\n')
    data, warning = reader(tmp_path / name)
    assert data is None and "not UTF-8" in warning and warning.startswith(str(tmp_path / name))


@pytest.mark.parametrize("reader, name", [(read_stored_yaml, "suite.yaml"), (read_stored_json, "environment.json")])
def test_a_directory_in_place_of_the_file_is_a_warning(tmp_path, reader, name):
    (tmp_path / name).mkdir()
    data, warning = reader(tmp_path / name)
    assert data is None
    assert warning == f"{tmp_path / name}: is a directory, not a regular file; bench writes only regular " \
                      f"files here: remove it or choose another path; the stored copy is ignored"


@pytest.mark.timeout(20)
@pytest.mark.parametrize("reader, name", [(read_stored_yaml, "suite.yaml"), (read_stored_json, "environment.json")])
def test_a_fifo_or_a_link_is_a_warning_without_blocking(tmp_path, reader, name):
    os.mkfifo(tmp_path / name)
    assert "is a FIFO" in reader(tmp_path / name)[1]
    (tmp_path / name).unlink()
    (tmp_path / "elsewhere").write_text("{}")
    (tmp_path / name).symlink_to(tmp_path / "elsewhere")
    assert "is a symbolic link" in reader(tmp_path / name)[1]


def test_a_huge_file_is_refused_by_its_size(tmp_path):
    (tmp_path / "environment.json").write_text('{"a": "' + "x" * 9_000_000 + '"}')
    data, warning = read_stored_json(tmp_path / "environment.json")
    assert data is None and "too large: 9,000,009 bytes, the limit is 8,000,000" in warning
    data, warning = read_stored_json(tmp_path / "environment.json", max_bytes=20_000_000)
    assert data == {"a": "x" * 9_000_000} and warning is None


@pytest.mark.parametrize("text, why", [
    ("{not json", "not JSON: Expecting property name"),
    ("[" * 200_000, "nested too deeply"),
    ('{"n": ' + "9" * 10_000 + "}", "not JSON bench can read"),
    ("", "not JSON: Expecting value"),
])
def test_damaged_json_is_a_warning(tmp_path, text, why):
    (tmp_path / "environment.json").write_text(text)
    data, warning = read_stored_json(tmp_path / "environment.json")
    assert data is None and why in warning and "\n" not in warning and len(warning) < 500


def test_the_store_reads_environments_through_the_guarded_reader(tmp_path):
    store = ResultStore(tmp_path)
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "r1.json").mkdir()  # a directory in its place
    (tmp_path / "environments" / "r2.json").write_bytes(b"\xff")
    assert store.environment("r1") is None and store.environment("r2") is None


@pytest.mark.parametrize("error, words", [(MemoryError, "out of memory"), (RecursionError, "nested too deeply")])
def test_a_parser_running_out_of_memory_or_stack_is_one_warning_for_either_reader(tmp_path, monkeypatch,
                                                                                  error, words):
    from benchmark import files, yamlsafe

    def exhausted(*args):
        raise error()

    monkeypatch.setattr(yamlsafe, "load_yaml_bytes", exhausted)
    monkeypatch.setattr(files, "_parse_json", exhausted)
    (tmp_path / "suite.yaml").write_text("name: s\n")
    (tmp_path / "environment.json").write_text("{}")
    for read, name in ((read_stored_yaml, "suite.yaml"), (read_stored_json, "environment.json")):
        data, warning = read(tmp_path / name)
        assert data is None
        assert warning == f"{tmp_path / name}: cannot read the stored copy ({words}); it is ignored"
