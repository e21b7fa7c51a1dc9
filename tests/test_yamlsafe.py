"""benchmark.yamlsafe: every bad suite file is one BenchError line, in bounded memory.

No wall-clock bound is asserted (a loaded machine would fail it): a bomb that defeated the
limits would hang, which the subprocess timeout below catches; speed is measured in benchmarks/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmark import yamlsafe
from benchmark.errors import BenchError
from benchmark.yamlsafe import (
    MAX_DEPTH,
    MAX_VALUES,
    load_yaml_text,
    locate,
    read_suite_file,
)

ROOT = Path(__file__).resolve().parents[1]

BILLION_LAUGHS = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
DEEP_THROUGH_ALIASES = "l0: &l0 " + "[" * 10 + "1" + "]" * 10 + "\n" + "".join(
    f"l{i}: &l{i} " + "[" * 10 + f"*l{i - 1}" + "]" * 10 + "\n" for i in range(1, 7))
DEEP_BLOCK = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "x\n"

# (id, file bytes, expected message after "FILE"): every case is refused with exactly this line.
BAD: list[tuple[str, bytes, str]] = [
    ("nul-byte", b"name: x\nseed: \x000\n", ":2: binary data (a NUL byte at byte offset 14); expected a YAML text file"),
    ("png-junk", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ":3: binary data (a NUL byte at byte offset 8); expected a YAML text file"),
    ("utf16", "name: x\n".encode("utf-16"), ":1: the file is UTF-16; save it as UTF-8"),
    ("latin1", "name: x\nseed: 0\ndescription: caf\u00e9\n".encode("latin-1"),
     ":3: not UTF-8: byte 0xe9 at byte offset 32 cannot be decoded; save the file as UTF-8"),
    ("cut-utf8", "name: x\ndescription: \u00e9\u00e9".encode()[:-1],
     ":2: not UTF-8: byte 0xc3 at byte offset 23 cannot be decoded; save the file as UTF-8"),
    ("lone-continuation", b"name: \x80x\n", ":1: not UTF-8: byte 0x80 at byte offset 6 cannot be decoded; save the file as UTF-8"),
    ("surrogate", b"name: \xed\xa0\x80\n", ":1: not UTF-8: byte 0xed at byte offset 6 cannot be decoded; save the file as UTF-8"),
    ("control-char", b"name: x\nseed: \x07\n", ":2: control character U+0007 at column 7; expected plain text"),
    ("escape-char", b"name: \x1b[31mred\n", ":1: control character U+001B at column 7; expected plain text"),
    ("unclosed-flow", b"name: x\nmodels: [a, b\nmetrics: [rmse]\n", ":3: YAML syntax error: did not find expected ',' or ']'"),
    ("tab-indent", b"models:\n\t- a\n", ":2: YAML syntax error: found character that cannot start any token"),
    ("bad-indent", b"name: x\n  seed: 0\n", ":2: YAML syntax error: check the indentation of 'seed' (column 3; "
                                          "'name' on line 1 above it is at column 1): mapping values are not "
                                          "allowed in this context"),
    ("unterminated-quote", b"name: 'x\n", ":2: YAML syntax error: found unexpected end of stream"),
    ("python-tag", b"name: x\nseed: !!python/object/apply:os.system [echo]\n",
     (":2: YAML syntax error: could not determine a constructor for the tag "
      "'tag:yaml.org,2002:python/object/apply:os.system'")),
    ("custom-tag", b"name: !secret x\n", ":1: YAML syntax error: could not determine a constructor for the tag '!secret'"),
    ("two-documents", b"name: x\n---\nname: y\n", ":2: expected one YAML document, found a second one"),
    ("undefined-alias", b"name: x\nseed: *nope\n", ":2: YAML syntax error: found undefined alias *nope"),
    ("billion-laughs", BILLION_LAUGHS.encode(), f":6: too many values: more than {MAX_VALUES:,} once aliases are expanded"),
    ("recursive-alias", b"name: x\nmodels: &m [a, *m]\n", ":2: alias *m is inside its own anchor (a recursive structure)"),
    ("deep-flow", b"[" * 10_000, f":1: nested too deeply: more than {MAX_DEPTH} levels"),
    ("deep-block", DEEP_BLOCK.encode(), f":{MAX_DEPTH + 1}: nested too deeply: more than {MAX_DEPTH} levels"),
    ("deep-keys", b"? " * 5000 + b"x", f":1: nested too deeply: more than {MAX_DEPTH} levels"),
    ("deep-through-aliases", DEEP_THROUGH_ALIASES.encode(),
     f":5: nested too deeply: more than {MAX_DEPTH} levels once aliases are expanded"),
    ("too-many-values", ("x: [" + "1," * (MAX_VALUES + 1) + "]").encode(),
     f":1: too many values: more than {MAX_VALUES:,}"),
    ("duplicate-top-key", b"name: x\nseed: 0\nname: y\n", ":3: name: duplicate key 'name': first at line 1, again at line 3"),
    ("duplicate-nested-key", b"models:\n  - name: svd\n    params: {k: 1, k: 2}\n",
     ":3: models[0].params.k: duplicate key 'k': first at line 3, again at line 3"),
    ("duplicate-same-value", b"grid:\n  1: a\n  0x1: b\n", ":3: grid.1: duplicate key 1: first at line 2, again at line 3"),
    ("duplicate-in-flow", b"split: {method: kfold, method: holdout}\n",
     ":1: split.method: duplicate key 'method': first at line 1, again at line 1"),
    ("list-as-key", b"? [a, b]\n: 1\n", ":1: a mapping key must be a plain value, found a list as a key"),
    ("mapping-as-key", b"{a: 1}: x\n", ":1: a mapping key must be a plain value, found a mapping as a key"),
    ("huge-integer", ("seed: " + "9" * 5000 + "\n").encode(), ":1: a number of 5,000 characters; at most 100"),
    ("sexagesimal-bomb", ("seed: " + "1:" * 200_000 + "1\n").encode(), ":1: a number of 400,001 characters; at most 100"),
    ("bad-date", b"name: x\nwhen: 2001-13-01\n", ":2: cannot read the value '2001-13-01': month must be in 1..12"),
    ("merge-of-scalar", b"base: {<<: 1}\n",
     ":1: YAML syntax error: expected a mapping or list of mappings for merging, but found scalar"),
    ("bad-omap", b"x: !!omap [1]\n", ":1: YAML syntax error: expected a mapping of length 1, but found scalar"),
]


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_bytes(data)
    return path


def refused(path: Path, **kwargs) -> tuple[str, None]:
    with pytest.raises(BenchError) as info:
        read_suite_file(path, **kwargs)
    line = str(info.value)
    assert "\n" not in line and len(line) < 400, line
    return line, None


@pytest.mark.parametrize("case, data, expected", BAD, ids=[c[0] for c in BAD])
def test_bad_file_refused_with_one_line(tmp_path, case, data, expected):
    path = write(tmp_path, data)
    line, _ = refused(path)
    assert line == f"{path}{expected}"


def test_missing_file(tmp_path):
    assert refused(tmp_path / "nope.yaml")[0] == f"{tmp_path / 'nope.yaml'}: suite file not found"


def test_directory(tmp_path):
    assert refused(tmp_path)[0] == f"{tmp_path}: is a directory, expected a suite file"


def test_fifo_is_not_read(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert refused(fifo)[0] == f"{fifo}: not a regular file, expected a suite file"


def test_too_large(tmp_path):
    path = write(tmp_path, b"# " + b"x" * 148 + b"\n")
    assert refused(path, max_bytes=100)[0] == f"{path}: suite file is too large: 151 bytes, the limit is 100"


def test_default_limit_is_a_megabyte(tmp_path):
    path = write(tmp_path, b"#" * 1_000_001)
    assert refused(path)[0] == f"{path}: suite file is too large: 1,000,001 bytes, the limit is 1,000,000"


def test_unreadable(tmp_path, monkeypatch):
    path = write(tmp_path, b"name: x\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(yamlsafe, "open", denied, raising=False)
    assert refused(path)[0] == f"{path}: cannot read suite file: permission denied"


def test_path_with_nul_character(tmp_path):
    line, _ = refused(Path(f"{tmp_path}/a\0b.yaml"))
    assert line.endswith(": cannot read suite file: embedded null byte")


def test_bad_input_count():
    """The issue asks for at least 25 distinct bad inputs here."""
    assert len(BAD) + 7 >= 25


# --- What is accepted ---------------------------------------------------------------------------


GOOD = """\
# a comment
name: tiny
seed: 0
split: {method: holdout, test_size: 0.2}
datasets:
  - name: synthetic-ratings
    options: {n_users: 60, n_items: 40}
models:
  - global-mean
  - name: truncated-svd
    grid:
      n_components: [3,
                     5]
metrics: [rmse]
"""


def test_same_data_as_safe_load_and_lines(tmp_path):
    import yaml

    loaded = read_suite_file(write(tmp_path, GOOD.encode()))
    assert loaded.data == yaml.safe_load(GOOD)
    assert loaded.text == GOOD
    where = loaded.where
    assert where() == f"{tmp_path / 'suite.yaml'}:2"
    assert where("seed") == f"{tmp_path / 'suite.yaml'}:3: seed"
    assert where("split", "test_size") == f"{tmp_path / 'suite.yaml'}:4: split.test_size"
    assert where("datasets", 0, "options", "n_users") == f"{tmp_path / 'suite.yaml'}:7: datasets[0].options.n_users"
    assert where("models", 1) == f"{tmp_path / 'suite.yaml'}:10: models[1]"
    assert where("models", 1, "grid", "n_components", 1) == \
        f"{tmp_path / 'suite.yaml'}:13: models[1].grid.n_components[1]"
    # a key the file does not have: the line of its deepest existing parent
    assert where("models", 1, "params", "k") == f"{tmp_path / 'suite.yaml'}:10: models[1].params.k"
    assert loaded.lines[("models",)] == 8


def test_locate_is_the_where_format():
    lines = {(): 1, ("a",): 2, ("a", 0): 3}
    assert locate("f.yaml", lines, "a", 0, "b") == "f.yaml:3: a[0].b"
    assert locate("f.yaml", lines) == "f.yaml:1"
    assert locate("f.yaml", {}, "x") == "f.yaml:1: x"


def test_empty_file_is_no_data(tmp_path):
    loaded = read_suite_file(write(tmp_path, b""))
    assert loaded.data is None and loaded.lines == {}
    assert read_suite_file(write(tmp_path, b"# only a comment\n")).data is None


def test_small_aliases_and_merge_keys_are_allowed():
    text = textwrap.dedent("""\
        common: &common {n_components: 8, seed: 1}
        models:
          - name: svd
            params: *common
          - name: pca
            params:
              <<: *common
              n_components: 16
        """)
    loaded = load_yaml_text(text, "s.yaml")
    assert loaded.data["models"][0]["params"] == {"n_components": 8, "seed": 1}
    assert loaded.data["models"][1]["params"] == {"n_components": 16, "seed": 1}
    assert loaded.where("models", 0, "params", "seed") == "s.yaml:4: models[0].params.seed"


def test_utf8_bom_and_unicode_are_fine():
    loaded = load_yaml_text("\ufeffname: caf\u00e9\ndescription: \U0001F600\n", "s.yaml")
    assert loaded.data == {"name": "caf\u00e9", "description": "\U0001F600"}


def test_limits_are_exact():
    assert load_yaml_text("[" * MAX_DEPTH + "]" * MAX_DEPTH, "s").data is not None
    with pytest.raises(BenchError):
        load_yaml_text("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "s")
    assert len(load_yaml_text("[" + "1," * (MAX_VALUES - 1) + "]", "s").data) == MAX_VALUES - 1


# --- Bombs in a subprocess under a 1 GB address-space limit -----------------------------------------

BOMBS = {
    "billion-laughs": BILLION_LAUGHS,
    "billion-laughs-13": "a: &a [" + ",".join(["lol"] * 13) + "]\n" + "".join(
        f"a{i}: &a{i} [{','.join(['*a' if i == 0 else f'*a{i - 1}'] * 13)}]\n" for i in range(12)),
    "merge-bomb": "a0: &a0 {x: 1}\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 12)),
    "deep-flow": "[" * 100_000,
    "deep-block": "".join(" " * i + "a:\n" for i in range(1400)),
    "wide": "x: [" + "1," * 480_000 + "]",
    "sexagesimal": "seed: " + "1:" * 490_000 + "1\n",
}

PROBE = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from benchmark.yamlsafe import read_suite_file
from benchmark.errors import BenchError
started = time.perf_counter()
try:
    read_suite_file(sys.argv[1])
    outcome = "loaded"
except BenchError as exc:
    outcome = str(exc)
# VmHWM is this process's own peak (ru_maxrss would carry over a large parent's across exec)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - started, "peak_mb": peak_kb / 1024}))
"""


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_refused_within_memory(tmp_path, name):
    path = write(tmp_path, BOMBS[name].encode())
    result = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True,
                            timeout=60, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["outcome"].startswith(f"{path}:"), report
    assert any(word in report["outcome"] for word in ("too many values", "nested too deeply", "a number of"))
    assert report["peak_mb"] < 500, report


@pytest.mark.parametrize("text, line, key, problem", [
    ("name: x\ndatasets:\n  - name: m\n    split: {method: kfold}\n  options: {a: 1}\n", 5, "'options' (column 3; 'split' on line 4 above it is at column 5)", "expected '-' indicator"),
    ("name: x\ndatasets:\n  - name: m\n models: [a]\n", 4, "'models' (column 2; 'name' on line 3 above it is at column 5)", "expected key"),
    ("name: x\ndatasets:\n  - name: m\n     split: kfold\n", 4, "'split' (column 6; 'name' on line 3 above it is at column 5)", "mapping values"),
])
def test_an_indentation_error_names_the_key_whose_indentation_to_check(text, line, key, problem):
    from benchmark.yamlsafe import load_yaml_text

    with pytest.raises(BenchError) as raised:
        load_yaml_text(text, "suite.yaml")
    message = str(raised.value)
    assert f"suite.yaml:{line}" in message and f"check the indentation of {key}" in message, message
    assert problem in message and "\n" not in message
