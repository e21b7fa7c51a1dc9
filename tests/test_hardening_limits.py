"""Issue 19, items 3 and 11; issue 17, item 8: limits checked before any work, Unicode suite names
mapped to safe directory names, CSV cells that cannot start a formula."""

from __future__ import annotations

import csv
import io

import pytest

from benchmark.csvsafe import csv_safe, csv_safe_frame, csv_safe_row, csv_text
from benchmark.errors import BenchError
from benchmark.limits import (
    SEED_MAX,
    check_component,
    check_max_configurations,
    check_out_path,
    check_seed,
    results_dir_name,
)

# --- Item 11: limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 - 1])
def test_seeds_numpy_accepts_pass(seed):
    assert check_seed(seed, "s.yaml:2: seed") == seed


@pytest.mark.parametrize("seed, shown", [(10**23, "100000000000000000000000"), (-1, "-1"), (2**32, "4294967296")])
def test_seeds_outside_numpys_range_are_refused(seed, shown):
    with pytest.raises(BenchError) as info:
        check_seed(seed, "s.yaml:2: seed")
    assert str(info.value) == f"s.yaml:2: seed: expected a seed from 0 to 4,294,967,295 (2**32 - 1), got {shown}"


@pytest.mark.parametrize("seed", [True, 1.5, "3", None])
def test_a_seed_that_is_not_an_integer_is_refused(seed):
    with pytest.raises(BenchError, match="seed: expected an integer seed from 0 to 4,294,967,295"):
        check_seed(seed)


def test_the_seed_range_is_numpys():
    numpy = pytest.importorskip("numpy")
    numpy.random.RandomState(SEED_MAX)
    with pytest.raises(ValueError):
        numpy.random.RandomState(SEED_MAX + 1)


def test_max_configurations():
    assert check_max_configurations(None, 10_000) == 10_000
    assert check_max_configurations(5, 10_000) == 5
    for value in (0, -3):
        with pytest.raises(BenchError) as info:
            check_max_configurations(value, 10_000)
        assert str(info.value) == f"--max-configurations: expected a number of configurations >= 1, got {value}"


def test_a_path_component_over_255_bytes_is_refused():
    assert check_component("a" * 255, "--out") == "a" * 255
    with pytest.raises(BenchError) as info:
        check_component("a" * 300, "--out")
    assert str(info.value).startswith("--out: the name 'aaaa")
    assert str(info.value).endswith("is 300 bytes long; a file system allows at most 255 bytes per name")
    with pytest.raises(BenchError, match="is 258 bytes long"):
        check_component("영" * 86, "--out")  # 86 characters, 3 bytes each


def test_out_paths(tmp_path):
    assert check_out_path(tmp_path / "results" / "ok") == tmp_path / "results" / "ok"
    with pytest.raises(BenchError, match=r"^--out: the name 'x+…' \(300 characters\) is 300 bytes long"):
        check_out_path(tmp_path / ("x" * 300) / "sub")
    with pytest.raises(BenchError, match="^-o: a path cannot hold a NUL character$"):
        check_out_path("a\0b", "-o")
    with pytest.raises(BenchError, match="the path is .* bytes long; at most 4,096"):
        check_out_path("/".join(["d" * 200] * 30))


# --- Issue 17 item 8: a suite name as a results directory name --------------------------------


@pytest.mark.parametrize("name, directory", [
    ("영화-추천", "영화-추천"),
    ("quickstart", "quickstart"),
    ("ml-100k_v1.2", "ml-100k_v1.2"),
    ("Filmempfehlung für Ärzte", "Filmempfehlung_für_Ärzte"),
    ("映画 おすすめ", "映画_おすすめ"),
    ("  padded name  ", "padded_name"),
    ("a   b", "a_b"),
    ("what?: a*b|c<d>\"e\"", "what_a_b_c_d_e_"),
    ("version 2.", "version_2"),
    ("a..b", "a..b"),
    ("e\u0301te\u0301", "été"),  # NFD (as macOS writes it) is the same directory as NFC
    ("हिन्दी", "हिन्दी"),  # combining marks are kept
    ("CONSOLE", "CONSOLE"),
    ("COM10", "COM10"),
])
def test_unicode_names_map_to_safe_directory_names(name, directory):
    assert results_dir_name(name) == directory


@pytest.mark.parametrize("name, reason", [
    ("../escape", "holds a path separator"),
    ("a/b", "holds a path separator"),
    ("/abs/path", "holds a path separator"),
    ("x\\y", "holds a path separator"),
    ("..", "starts with '.'"),
    (".", "starts with '.'"),
    (".hidden", "starts with '.'"),
    ("tab\there", "a control character (U+0009)"),
    ("new\nline", "a control character (U+000A)"),
    ("nul\0", "a control character (U+0000)"),
    ("rtl\u202eoverride", "an invisible formatting character (U+202E)"),
    ("line\u2028sep", "a line separator (U+2028)"),
    ("CON", "'CON' is a reserved device name on Windows"),
    ("nul.results", "'nul' is a reserved device name on Windows"),
    ("com1", "'com1' is a reserved device name on Windows"),
    ("LPT9", "'LPT9' is a reserved device name on Windows"),
    ("", "expected a non-empty suite name"),
    ("   ", "expected a non-empty suite name"),
    (None, "expected a non-empty suite name, got None"),
    ("???", "has no letter or digit"),
    ("x" * 300, "is 300 bytes long; a file system allows at most 255"),
    ("영" * 100, "is 300 bytes long"),
    ("x" * 5_000_000, "is 5,000,000 bytes long"),
])
def test_names_that_cannot_be_one_directory_are_refused_with_one_line(name, reason):
    with pytest.raises(BenchError) as info:
        results_dir_name(name, "s.yaml:1: name")
    message = str(info.value)
    assert message.startswith("s.yaml:1: name: ") and reason in message and "\n" not in message
    assert len(message) < 300


# --- Item 3: CSV formula injection -------------------------------------------------------------


@pytest.mark.parametrize("value, safe", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("  =1+1", "'  =1+1"),
    ("-", "'-"),
    ("-inf", "'-inf"),
    ("svd", "svd"),
    ("a=b", "a=b"),
    ("", ""),
    ("-0.93", "-0.93"),
    ("+1e-3", "+1e-3"),
    ("-.5", "-.5"),
    ("12", "12"),
    (-0.93, -0.93),
    (3, 3),
    (None, None),
    (True, True),
])
def test_csv_safe(value, safe):
    assert csv_safe(value) == safe


def test_csv_text_also_writes_a_carriage_return_as_backslash_r():
    assert csv_text("a\rb") == "a\\rb" and csv_text("\rx") == "'\\rx" and csv_text("=1") == "'=1"
    assert csv_text(-0.5) == -0.5 and csv_text(None) is None and csv_text("svd") == "svd"


def test_a_csv_written_through_csv_safe_reads_back_as_text_and_numbers():
    out = io.StringIO()
    csv.writer(out).writerow(csv_safe_row(["=1+1", -0.5, "-0.25", "a,=b", "@x"]))
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'=1+1", "-0.5", "-0.25", "a,=b", "'@x"]


def test_a_frame_through_csv_safe_frame_keeps_its_numbers():
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"model": ["=cmd", "svd"], "rmse": [-0.5, 0.9], "=col": [1, 2]})
    safe = csv_safe_frame(frame)
    assert list(safe.columns) == ["model", "rmse", "'=col"]
    assert safe["model"].tolist() == ["'=cmd", "svd"] and safe["rmse"].dtype == frame["rmse"].dtype
    assert safe.to_csv(index=False) == "model,rmse,'=col\n'=cmd,-0.5,1\nsvd,0.9,2\n"
    assert frame["model"].tolist() == ["=cmd", "svd"]  # the frame given is left alone
