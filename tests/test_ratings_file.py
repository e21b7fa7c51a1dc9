"""The ``ratings-file`` dataset: CSV/TSV/Parquet, column mapping, train/test files, clear errors."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from bench_plugins import movielens
from bench_plugins.ratings_file import bench_datasets, load_ratings_file

from benchmark.api import PluginInputError
from benchmark.store import read_rows
from tests.conftest import run_bench

FRAME = pd.DataFrame({"userId": [3, 1, 2, 1], "movieId": [10, 20, 10, 30],
                      "stars": [4.5, 3.0, 1.0, 5.0], "when": [30, 10, 20, 40]})
MAPPING = {"user": "userId", "item": "movieId", "rating": "stars", "timestamp": "when"}
EXPECTED = pd.DataFrame({"user": [3, 1, 2, 1], "item": [10, 20, 10, 30],
                         "rating": [4.5, 3.0, 1.0, 5.0], "timestamp": [30, 10, 20, 40]})


@pytest.fixture(autouse=True)
def no_env_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)


@pytest.mark.parametrize("name, write", [
    ("r.csv", lambda f, p: f.to_csv(p, index=False)),
    ("r.csv.gz", lambda f, p: f.to_csv(p, index=False)),
    ("r.tsv", lambda f, p: f.to_csv(p, sep="\t", index=False)),
    ("r.parquet", lambda f, p: f.to_parquet(p, index=False)),
])
def test_formats_by_suffix_with_column_mapping(tmp_path, name, write):
    path = tmp_path / name
    write(FRAME, path)
    data = load_ratings_file(str(path), columns=MAPPING)
    pd.testing.assert_frame_equal(data.ratings, EXPECTED)
    assert data.scale == (1.0, 5.0), "scale defaults to the data's range"
    assert data.info["source"] == str(path.resolve()) and data.folds == {}


def test_explicit_format_sep_and_no_header(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_text("3;10;4.5\n1;20;3\n")
    data = load_ratings_file(str(path), sep=";", header=False, scale=[0.5, 5])
    assert data.ratings.to_dict("list") == {"user": [3, 1], "item": [10, 20], "rating": [4.5, 3.0]}
    assert data.scale == (0.5, 5.0)
    tsv = tmp_path / "ratings.txt"
    tsv.write_text("3\t10\t4.5\t99\n")
    data = load_ratings_file(str(tsv), format="tsv", header=False,
                             columns={"user": 0, "item": 1, "rating": 2, "timestamp": 3})
    assert data.ratings.iloc[0].tolist() == [3, 10, 4.5, 99]


def test_string_ids_are_kept(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating\nalice,B00X,4\nbob,B00Y,2\n")
    data = load_ratings_file(str(path))
    assert data.ratings["user"].tolist() == ["alice", "bob"]
    assert "timestamp" not in data.ratings.columns


def test_train_and_test_files_become_fold_set_files(tmp_path):
    FRAME.iloc[:3].to_csv(tmp_path / "train.csv", index=False)
    FRAME.iloc[3:].to_csv(tmp_path / "test.csv", index=False)
    data = load_ratings_file(train=str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"),
                             columns=MAPPING)
    pd.testing.assert_frame_equal(data.ratings, EXPECTED)
    (fold,) = data.folds["files"]
    assert fold.train.tolist() == [0, 1, 2] and fold.test.tolist() == [3]


def test_relative_paths_resolve_from_current_dir_then_data_dir(tmp_path, monkeypatch):
    (tmp_path / "here").mkdir()
    (tmp_path / "store").mkdir()
    FRAME.to_csv(tmp_path / "here" / "r.csv", index=False)
    FRAME.iloc[:2].to_csv(tmp_path / "store" / "r.csv", index=False)
    FRAME.iloc[:1].to_csv(tmp_path / "store" / "only-there.csv", index=False)
    monkeypatch.chdir(tmp_path / "here")
    assert len(load_ratings_file("r.csv", columns=MAPPING, data_dir=str(tmp_path / "store"))) == 4
    assert len(load_ratings_file("only-there.csv", columns=MAPPING,
                                 data_dir=str(tmp_path / "store"))) == 1


def test_u_data_and_its_csv_rewrite_have_the_same_checksum(shared_data, tmp_path):
    original = movielens.load_100k(data_dir=str(shared_data))
    rewrite = tmp_path / "ml100k.csv"
    original.ratings.rename(columns={"user": "userId", "item": "movieId"}).to_csv(rewrite, index=False)
    copy = load_ratings_file(str(rewrite), columns={"user": "userId", "item": "movieId"})
    assert copy.checksum() == original.checksum()
    assert copy.scale == original.scale
    shuffled = copy.ratings.sample(frac=1.0, random_state=0)
    assert type(copy)(shuffled, copy.scale).checksum() != original.checksum()


def test_100k_split_files_through_ratings_file(shared_data):
    data = load_ratings_file(train="ml-100k/u1.base", test="ml-100k/u1.test", format="tsv",
                             header=False, data_dir=str(shared_data))
    (fold,) = data.folds["files"]
    assert (len(fold.train), len(fold.test)) == (80_000, 20_000)
    assert data.describe()["users"] == 943


@pytest.mark.parametrize("options, message", [
    ({"path": "missing.csv"}, r"'missing.csv' not found"),
    ({"path": "{dir}/r.csv"}, r"no column 'user' for 'user'; the file has userId"),
    ({"path": "{dir}/r.csv", "columns": {**MAPPING, "timestamp": "time"}}, r"no column 'time'"),
    ({"path": "{dir}/r.csv", "columns": {"person": "userId"}}, r"unknown column\(s\) \['person'\]"),
    ({"path": "{dir}/bad.csv"}, r"bad.csv:3: column 'rating' must be numeric, got 'great'$"),
    ({"path": "{dir}/r.csv", "columns": MAPPING, "scale": [2, 5]}, r"outside the scale \[2, 5\]"),
    ({"path": "{dir}/r.csv", "columns": MAPPING, "scale": [5, 1]}, r"min < max"),
    ({"path": "{dir}/r.json"}, r"cannot tell the format of r.json"),
    ({"path": "{dir}/r.csv", "format": "excel"}, r"unknown format 'excel'"),
    ({}, r"give either path, or both train and test"),
    ({"train": "{dir}/r.csv"}, r"give either path, or both train and test"),
    ({"path": "{dir}/r.csv", "train": "{dir}/r.csv", "test": "{dir}/r.csv"}, r"give either path"),
])
def test_bad_input_is_a_clear_plugin_input_error(tmp_path, options, message):
    FRAME.to_csv(tmp_path / "r.csv", index=False)
    (tmp_path / "r.json").write_text("{}")
    (tmp_path / "bad.csv").write_text("user,item,rating\n1,2,4\n1,3,great\n")
    options = {k: v.format(dir=tmp_path) if isinstance(v, str) else v for k, v in options.items()}
    with pytest.raises(PluginInputError, match=message):
        load_ratings_file(**options)


def test_missing_ids_are_refused(tmp_path):
    (tmp_path / "r.csv").write_text("user,item,rating\n1,2,4\n,3,5\n")
    with pytest.raises(PluginInputError, match=r"r.csv:3: column 'user' is empty \(a short or truncated line\?\)$"):
        load_ratings_file(str(tmp_path / "r.csv"))


def test_registered_as_a_rating_dataset():
    (spec,) = bench_datasets()
    assert (spec.name, spec.task, spec.loader) == ("ratings-file", "rating", load_ratings_file)


def test_suite_options_drive_the_loader(tmp_path, write_suite):
    FRAME.iloc[:3].to_csv(tmp_path / "train.csv", index=False)
    FRAME.iloc[3:].to_csv(tmp_path / "test.csv", index=False)
    suite = write_suite(f"""
name: own-file
datasets:
  - name: ratings-file
    options: {{train: {tmp_path / 'train.csv'}, test: {tmp_path / 'test.csv'},
               columns: {{user: userId, item: movieId, rating: stars}}, scale: [0.5, 5]}}
    split: {{method: predefined}}
models: [global-mean]
metrics: [mae]
""")
    done = run_bench("run", str(suite), "--out", str(tmp_path / "out"), "-q")
    assert done.returncode == 0, done.stderr + done.stdout
    (row,) = [json.loads(line) for line in (tmp_path / "out" / "cells.jsonl").read_text().splitlines()]
    assert row["fold_name"] == "files" and row["status"] == "ok", row["error"]
    assert np.isclose(row["metrics"]["mae"], abs(5.0 - np.mean([4.5, 3.0, 1.0])))


def test_suite_relative_paths_are_found_beside_the_suite(tmp_path):
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "mine.csv").write_text(
        "u,i,r\n" + "".join(f"{u},{i},{(u * i) % 5 + 1}\n" for u in range(20) for i in range(10)))
    suite = project / "suite.yaml"
    suite.write_text("name: mine\nsplit: {method: holdout}\n"
                     "datasets: [{name: ratings-file, options: {path: data/mine.csv, "
                     "columns: {user: u, item: i, rating: r}}}]\nmodels: [global-mean]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_bench("run", str(suite), "--out", str(tmp_path / "out"), "-q", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    row = read_rows(tmp_path / "out" / "cells.jsonl")[0]
    assert row["dataset_options"]["path"] == str((project / "data" / "mine.csv").resolve())
    assert row["n_train"] + row["n_test"] == 200


# --- Repeated (user, item) pairs: refused by default, or first / last / mean with a warning ------

REPEATED = ("user,item,rating,timestamp\n"
            "1,10,4,100\n"   # row 1
            "2,10,3,101\n"   # row 2
            "1,10,2,102\n"   # row 3: user 1, item 10 again, conflicting
            "3,20,5,103\n"   # row 4
            "3,20,5,104\n"   # row 5: an exact repeat of the rating
            "1,10,3,105\n")  # row 6: user 1, item 10 a third time


def test_repeated_pairs_are_refused_by_default_with_counts(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(REPEATED)
    with pytest.raises(PluginInputError) as error:
        load_ratings_file(str(path))
    assert str(error.value) == (
        f"{path}: 2 (user, item) pair(s) appear more than once (3 extra row(s), 1 pair(s) with "
        "conflicting ratings), e.g. user 1, item 10 on lines 2, 4, 7; set the option duplicates: "
        "first, last or mean to keep one rating per pair")


@pytest.mark.parametrize("policy, expected", [
    ("first", {"user": [1, 2, 3], "item": [10, 10, 20], "rating": [4.0, 3.0, 5.0], "timestamp": [100, 101, 103]}),
    ("last", {"user": [2, 3, 1], "item": [10, 20, 10], "rating": [3.0, 5.0, 3.0], "timestamp": [101, 104, 105]}),
    ("mean", {"user": [1, 2, 3], "item": [10, 10, 20], "rating": [3.0, 3.0, 5.0], "timestamp": [105, 101, 104]}),
])
def test_first_last_mean_keep_one_row_per_pair_and_warn_with_counts(tmp_path, policy, expected):
    path = tmp_path / "r.csv"
    path.write_text(REPEATED)
    with pytest.warns(UserWarning, match=r"2 \(user, item\) pair\(s\) appear more than once .*"
                                         rf"\(duplicates: {policy}\), dropping 3 row\(s\)"):
        data = load_ratings_file(str(path), duplicates=policy)
    assert data.ratings.to_dict("list") == expected
    assert data.info["duplicates"] == {"policy": policy, "pairs": 2, "rows_dropped": 3, "conflicting": 1}


def test_a_file_without_repeats_is_untouched_by_any_policy(tmp_path, recwarn):
    FRAME.to_csv(tmp_path / "r.csv", index=False)
    for policy in ("refuse", "first", "last", "mean"):
        data = load_ratings_file(str(tmp_path / "r.csv"), columns=MAPPING, duplicates=policy)
        pd.testing.assert_frame_equal(data.ratings, EXPECTED)
        assert "duplicates" not in data.info
    assert not recwarn.list


def test_unknown_duplicates_policy_is_refused(tmp_path):
    FRAME.to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(PluginInputError, match=r"duplicates must be one of refuse, first, last, mean, got 'newest'"):
        load_ratings_file(str(tmp_path / "r.csv"), columns=MAPPING, duplicates="newest")


def test_train_test_policy_applies_per_file_and_a_pair_in_both_is_refused(tmp_path):
    (tmp_path / "train.csv").write_text("user,item,rating\n1,10,4\n1,10,5\n2,10,3\n")
    (tmp_path / "test.csv").write_text("user,item,rating\n2,20,1\n")
    with pytest.raises(PluginInputError, match=r"train.csv: 1 \(user, item\) pair\(s\) appear more than once"):
        load_ratings_file(train=str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"))
    with pytest.warns(UserWarning, match="duplicates: last"):
        data = load_ratings_file(train=str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"),
                                 duplicates="last")
    assert data.ratings["rating"].tolist() == [5.0, 3.0, 1.0]
    (fold,) = data.folds["files"]
    assert fold.train.tolist() == [0, 1] and fold.test.tolist() == [2]
    assert data.info["duplicates"] == {"train": {"policy": "last", "pairs": 1, "rows_dropped": 1,
                                                 "conflicting": 1}}
    (tmp_path / "test.csv").write_text("user,item,rating\n2,20,1\n2,10,3\n")
    with pytest.raises(PluginInputError, match=r"test.csv:3: 1 test row\(s\) rate a \(user, item\) pair that "
                                                r"is also in train.csv, the first here: user 2, item 10;"), \
            pytest.warns(UserWarning, match="duplicates: last"):
        load_ratings_file(train=str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"),
                          duplicates="last")


def test_suite_refuses_an_unknown_duplicates_policy_before_any_work(tmp_path, write_suite):
    FRAME.to_csv(tmp_path / "r.csv", index=False)
    suite = write_suite(f"""
name: dup
split: {{method: holdout}}
datasets:
  - name: ratings-file
    options: {{path: {tmp_path / 'r.csv'}, columns: {{user: userId, item: movieId, rating: stars}},
               duplicates: newest}}
models: [global-mean]
""")
    done = run_bench("run", str(suite), "--out", str(tmp_path / "out"), "-q")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "duplicates" in done.stderr and "newest" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "cells.jsonl").exists()


# --- BOM, CRLF, empty and header-only files --------------------------------------------------------

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("name, body, options", [
    ("r.csv", b"userId,movieId,stars,when\n3,10,4.5,30\n1,20,3,10\n2,10,1,20\n1,30,5,40\n", {"columns": MAPPING}),
    ("r.tsv", b"3\t10\t4.5\t30\n1\t20\t3\t10\n2\t10\t1\t20\n1\t30\t5\t40\n", {"header": False}),
    ("r.dat", b"3::10::4.5::30\n1::20::3::10\n2::10::1::20\n1::30::5::40\n", {"header": False, "sep": "::"}),
])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("crlf", [False, True])
def test_bom_and_crlf_read_as_plain_utf8_lf(tmp_path, name, body, options, bom, crlf):
    if crlf:
        body = body.replace(b"\n", b"\r\n")
    (tmp_path / name).write_bytes((BOM if bom else b"") + body)
    data = load_ratings_file(str(tmp_path / name), **options)
    pd.testing.assert_frame_equal(data.ratings, EXPECTED)


def test_bom_and_crlf_with_string_ids(tmp_path):
    (tmp_path / "r.csv").write_bytes(BOM + b"user,item,rating\r\nalice,B00X,4\r\nbob,B00Y,2\r\n")
    data = load_ratings_file(str(tmp_path / "r.csv"))
    assert data.ratings.to_dict("list") == {"user": ["alice", "bob"], "item": ["B00X", "B00Y"],
                                            "rating": [4.0, 2.0]}


@pytest.mark.parametrize("name, content, options, reason", [
    ("empty.csv", b"", {}, "the file is empty"),
    ("blank.csv", b"\n\r\n  \n", {}, "the file is empty"),
    ("bom-only.csv", BOM, {}, "the file is empty"),
    ("empty.tsv", b"", {"header": False}, "the file is empty"),
    ("header.csv", b"user,item,rating\n", {}, "it has only a header line"),
    ("header-crlf-bom.csv", BOM + b"user,item,rating\r\n", {}, "it has only a header line"),
])
def test_empty_and_header_only_files_are_one_clear_error(tmp_path, name, content, options, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PluginInputError) as error:
        load_ratings_file(str(path), **options)
    assert str(error.value) == f"{path} holds no ratings: {reason}"


def test_empty_parquet_and_gzipped_header_only_are_refused(tmp_path):
    FRAME.iloc[:0].to_parquet(tmp_path / "r.parquet", index=False)
    with pytest.raises(PluginInputError, match=r"r.parquet holds no ratings: it has only a header line"):
        load_ratings_file(str(tmp_path / "r.parquet"), columns=MAPPING)
    with gzip.open(tmp_path / "r.csv.gz", "wb") as handle:
        handle.write(b"user,item,rating\n")
    with pytest.raises(PluginInputError, match=r"r.csv.gz holds no ratings: it has only a header line"):
        load_ratings_file(str(tmp_path / "r.csv.gz"))
