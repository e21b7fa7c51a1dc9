"""The ``ratings-file`` dataset: CSV/TSV/Parquet, column mapping, train/test files, clear errors."""

from __future__ import annotations

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
    ({"path": "{dir}/bad.csv"}, r"'rating' must be numeric; row 2 holds 'great'"),
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
    with pytest.raises(PluginInputError, match=r"'user' has missing values \(first at row 2\)"):
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
