"""What a user trial found: problems reported one at a time, a data directory silently ignored,
dataset options without declared ranges, ratings-file errors without a file line.

Each is a specification of what ``bench check`` / ``bench run`` print: every problem of a
``tune:`` or ``limits:`` block at once; a ``data_dir`` (suite, ``--data-dir``,
``$BENCH_DATA_DIR``) that is not a directory refused with one line naming where it came from;
synthetic-ratings' options bounded at check time; ratings-file errors as ``FILE:LINE: column
...`` quoting the field as written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark import plugin_info
from benchmark.registry import build_registry
from tests.conftest import run_bench
from tests.test_check_all import errors_of

SYNTHETIC = """\
name: v
datasets:
  - name: synthetic-ratings
    options: {n_users: 30, n_items: 20, density: 0.3}
models:
  - name: truncated-svd
"""


@pytest.fixture(autouse=True)
def no_env_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)


# --- 1. every problem of a tune: or limits: block at once -----------------------------------------


def test_every_problem_of_a_tune_block_is_listed(write_suite):
    path = write_suite(SYNTHETIC + "    tune: {space: {n_components: {low: 0, high: 10}}, trials: 0, "
                                   "objective: ndcg@10, split: {method: kfold, k: 1}}\n")
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:7: models[0].tune.space.n_components.low: expected a number >= 1, got 0",
        f"{path}:7: models[0].tune.trials: expected an integer >= 1 (the number of trials), got an integer 0",
        f"{path}:7: models[0].tune.objective: expected a metric of the 'rating' task of dataset "
        f"'synthetic-ratings', got 'ndcg@10' (a 'ranking' metric)",
        f"{path}:7: models[0].tune.split.k: expected a number >= 2, got 1",
    ]


def test_every_searched_parameter_and_both_bounds_are_checked(write_suite):
    path = write_suite(SYNTHETIC + "    tune:\n      space:\n"
                                   "        n_components: {low: 0, high: -1, lg: true}\n"
                                   "        n_iter: [0, 5, -2]\n"
                                   "        algorithm: [randomized]\n"
                                   "      budget: 3\n      objective: rmse\n      search: random\n")
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:7: models[0].tune: missing required key 'trials' (the budget of a random search)",
        f"{path}:9: models[0].tune.space.n_components.lg: expected low, high, log (or choices alone), got 'lg'",
        f"{path}:9: models[0].tune.space.n_components.low: expected a number >= 1, got 0",
        f"{path}:9: models[0].tune.space.n_components.high: expected a number >= 1, got -1",
        f"{path}:10: models[0].tune.space.n_iter[0]: expected a number >= 1, got 0",
        f"{path}:10: models[0].tune.space.n_iter[2]: expected a number >= 1, got -2",
        f"{path}:11: models[0].tune.space.algorithm: expected a parameter of the model "
        f"(one of: n_components, n_iter, random_state), got 'algorithm'",
        f"{path}:12: models[0].tune.budget: expected a key of tune "
        f"(one of: space, objective, search, trials, split), got 'budget'",
    ]


def test_a_tune_problem_is_listed_beside_a_parameter_problem(write_suite):
    path = write_suite(SYNTHETIC + "    params: {n_iter: 0}\n    tune: {space: {n_components: [0, 2]}, "
                                   "objective: rmse}\n")
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:7: models[0].params.n_iter: expected a number >= 1, got 0",
        f"{path}:8: models[0].tune.space.n_components[0]: expected a number >= 1, got 0",
    ]


@pytest.mark.parametrize("where, prefix", [("suite", "limits"), ("model", "models[0].limits")])
def test_both_limits_are_checked(write_suite, where, prefix):
    limits = "{memory: 4XB, timeout: -1}"
    text = SYNTHETIC + (f"limits: {limits}\n" if where == "suite" else f"    limits: {limits}\n")
    path = write_suite(text)
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:7: {prefix}.timeout: expected a number > 0, got -1",
        f"{path}:7: {prefix}.memory: expected a size such as '4 GB' or '500MB', got a string \"4XB\"",
    ]


# --- 2. a data directory that is not one ----------------------------------------------------------


ML100K = "name: v\ndata_dir: {data_dir}\ndatasets: [movielens-100k]\nmodels: [global-mean]\n"


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize("dataset", ["movielens-100k", "movielens-latest-small"])
def test_a_suite_data_dir_that_does_not_exist_is_one_line(write_suite, tmp_path, command, dataset):
    missing = tmp_path / "dta"
    path = write_suite(ML100K.format(data_dir=missing).replace("movielens-100k", dataset))
    out = tmp_path / "out"
    extra = ("--out", str(out)) if command == "run" else ()
    assert errors_of(run_bench(command, str(path), *extra)) == [
        f"{path}:2: data_dir: directory '{missing}' not found"]
    assert not out.exists()


def test_a_relative_data_dir_is_looked_for_beside_the_suite_and_a_file_is_not_a_directory(write_suite, tmp_path):
    path = write_suite(ML100K.format(data_dir="dta"))
    assert errors_of(run_bench("check", str(path), cwd=Path("/"))) == [
        f"{path}:2: data_dir: directory '{tmp_path / 'dta'}' not found"]
    (tmp_path / "dta").write_text("")
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:2: data_dir: '{tmp_path / 'dta'}' is not a directory"]
    (tmp_path / "dta").unlink()
    (tmp_path / "dta").mkdir()
    assert run_bench("check", str(path)).returncode == 0


def test_data_dir_option_and_environment_variable_are_checked_too(write_suite, tmp_path):
    path = write_suite(SYNTHETIC)
    out = tmp_path / "out"
    missing = tmp_path / "nowhere"
    assert errors_of(run_bench("run", str(path), "--data-dir", str(missing), "--out", str(out))) == [
        f"--data-dir: directory '{missing}' not found"]
    assert errors_of(run_bench("check", str(path), env={"BENCH_DATA_DIR": str(missing)})) == [
        f"$BENCH_DATA_DIR: directory '{missing}' not found"]
    assert not out.exists()


def test_data_dir_option_overrides_the_suites_which_is_then_not_checked(write_suite, tmp_path, shared_data):
    path = write_suite(ML100K.format(data_dir=tmp_path / "elsewhere"))
    from benchmark.suite import load_suite

    suite, _ = load_suite(path, data_dir=str(shared_data))
    assert suite.data_dir == str(shared_data.resolve())


def test_the_loader_names_the_directories_it_looked_in(tmp_path, monkeypatch):
    from bench_plugins import movielens

    from benchmark.api import PluginInputError

    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(PluginInputError) as error:
        movielens.load_100k(data_dir=str(tmp_path / "dta"), download=False)
    assert str(error.value) == (
        f"ml-100k/u.data not found (looked in {tmp_path / 'dta' / 'ml-100k'} (data_dir {tmp_path / 'dta'} "
        f"does not exist) and in {tmp_path / 'cache' / 'movielens' / 'ml-100k'}), and download is off")
    with pytest.raises(PluginInputError) as error:
        movielens.load_100k(download=False)
    assert str(error.value) == (
        f"ml-100k/u.data not found (looked in {tmp_path / 'cache' / 'movielens' / 'ml-100k'}; give data_dir, "
        f"--data-dir or BENCH_DATA_DIR), and download is off")


# --- 3. dataset options declare their ranges and docs ---------------------------------------------


@pytest.mark.parametrize("density, shown", [("5", "5"), ("-0.1", "-0.1"), ("0", "0")])
def test_a_synthetic_density_outside_0_1_is_refused_by_check(write_suite, density, shown):
    path = write_suite(SYNTHETIC.replace("density: 0.3", f"density: {density}"))
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:4: datasets[0].options.density: expected a number > 0 and <= 1, got {shown}"]


def test_every_synthetic_option_is_bounded_at_check(write_suite):
    path = write_suite(SYNTHETIC.replace("{n_users: 30, n_items: 20, density: 0.3}",
                                         "{n_users: 0, n_items: -1, n_ratings: 0, rank: 0, noise: -1, step: 0, "
                                         "seed: -1}"))
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:4: datasets[0].options.{name}: expected a number {bound}, got {value}"
        for name, bound, value in [("n_users", ">= 1", 0), ("n_items", ">= 1", -1), ("n_ratings", ">= 1", 0),
                                   ("rank", ">= 1", 0), ("noise", ">= 0", -1), ("step", "> 0", 0),
                                   ("seed", ">= 0", -1)]]


def test_what_only_the_loader_can_check_names_the_options():
    from bench_plugins.synthetic import load_synthetic

    from benchmark.api import PluginInputError

    with pytest.raises(PluginInputError) as error:
        load_synthetic(n_users=200, n_items=100, density=1e-5)
    assert str(error.value) == ("cannot draw 0 ratings: density 1e-05 of the n_users x n_items = 200 x 100 = "
                                "20,000 pairs; raise density or give n_ratings")


def test_ratings_file_options_are_checked_before_any_file_is_read(write_suite):
    path = write_suite("name: v\nsplit: {method: holdout}\ndatasets:\n  - name: ratings-file\n"
                       "    options: {path: r.csv, format: excel, sep: '', scale: [1, 2, 3], "
                       "columns: {person: userId, item: 1.5}}\n"
                       "  - name: ratings-file\n    label: b\n    options: {path: r.csv, scale: [1]}\n"
                       "models: [global-mean]\n")
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:5: datasets[0].options.format: expected one of: csv, tsv, parquet, null, "
        f"got a string \"excel\"",
        f"{path}:5: datasets[0].options.columns.person: unknown key 'person'; expected one of: item, rating, "
        f"timestamp, user",
        f"{path}:5: datasets[0].options.columns.item: expected a string or an integer, got a number 1.5",
        f"{path}:5: datasets[0].options.sep: expected a non-empty string",
        f"{path}:5: datasets[0].options.scale: expected at most 2 entries, got 3",
        f"{path}:8: datasets[1].options.scale: expected at least 2 entries",
    ]


@pytest.mark.parametrize("name", ["synthetic-ratings", "ratings-file"])
def test_every_option_has_a_doc(name):
    registry = build_registry()
    entry = registry.get("dataset", name)
    for params in plugin_info.parameters(registry, entry).values():
        for param in params.values():
            assert param.doc, f"{name}: option {param.name} has no one-line doc"


def test_plugins_shows_the_options_range_and_doc():
    result = run_bench("plugins", "synthetic-ratings")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("density "))
    assert "> 0, <= 1" in line and "share of the n_users x n_items pairs" in line


# --- 4. ratings-file errors: FILE:LINE: column, the field as written ------------------------------


def _load_error(path: Path | None, **options) -> str:
    from bench_plugins.ratings_file import load_ratings_file

    from benchmark.api import PluginInputError

    with pytest.raises(PluginInputError) as error:
        load_ratings_file(str(path) if path is not None else None, **options)
    return str(error.value)


def test_a_truncated_real_file_names_its_last_line(shared_data, tmp_path):
    lines = (shared_data / "ml-latest-small" / "ratings.csv").read_text().splitlines(keepends=True)[:1356]
    path = tmp_path / "ratings.csv"
    path.write_text("".join(lines[:-1]) + lines[-1].rsplit(",", 1)[0] + ",")  # cut inside the timestamp
    assert _load_error(path, columns={"user": "userId", "item": "movieId"}) == (
        f"{path}:1356: column 'timestamp' is empty (a short or truncated line?)")


@pytest.mark.parametrize("body, message", [
    ("1,2,4,10\n\n\n1,3,NaN,11\n", "{path}:5: column 'rating' must be numeric, got 'NaN'"),
    ("1,2,4,10\n1,3\n", "{path}:3: column 'rating' is empty (a short or truncated line?)"),
    ("1,2,4,10\n1,3,,11\n", "{path}:3: column 'rating' is empty (a short or truncated line?)"),
    ("1,2,4,10\n1,3,inf,11\n", "{path}:3: column 'rating' must be a finite number, got 'inf'"),
    ('1,"two\nlines",4,10\n1,3,4,x9\n', "{path}:4: column 'timestamp' must be numeric, got 'x9'"),
    ("1,2,4,10\nNA,3,4,11\n", "{path}:3: column 'user' must be an id, got 'NA', which reads as a missing value"),
    ("1,2,4,10\n1,3,17,11\n1,4,18,12\n",
     "{path}:3: rating '17' lies outside the scale [0.5, 5] (the first of 2 ratings outside it)"),
    ("1,2,4,10\n1,3,5.50,11\n", "{path}:3: rating '5.50' lies outside the scale [0.5, 5]"),
])
def test_a_bad_field_is_named_by_file_line_and_quoted_as_written(tmp_path, body, message):
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating,timestamp\n" + body)
    assert _load_error(path, scale=[0.5, 5]) == message.format(path=path)


def test_compressed_crlf_and_headerless_files_give_lines_too(tmp_path):
    import gzip

    path = tmp_path / "r.csv.gz"
    with gzip.open(path, "wt", newline="") as handle:
        handle.write("user,item,rating\r\n1,2,4\r\n1,3,x\r\n")
    assert _load_error(path) == f"{path}:3: column 'rating' must be numeric, got 'x'"
    path = tmp_path / "r.tsv"
    path.write_text("1\t2\t4\n1\t3\t\n")
    assert _load_error(path, header=False) == f"{path}:2: column 'rating' is empty (a short or truncated line?)"
    path = tmp_path / "r.dat"
    path.write_text("1::2::4\n1::3::x\n")
    assert _load_error(path, header=False, sep="::") == f"{path}:2: column 'rating' must be numeric, got 'x'"


def test_a_parquet_file_names_the_data_row(tmp_path):
    import pandas as pd

    pytest.importorskip("pyarrow")
    path = tmp_path / "r.parquet"
    pd.DataFrame({"user": [1, 1], "item": [2, 3], "rating": [4.0, float("nan")]}).to_parquet(path)
    assert _load_error(path) == f"{path}: data row 2: column 'rating' is empty"


def test_out_of_scale_in_a_test_file_names_that_file(tmp_path):
    (tmp_path / "train.csv").write_text("user,item,rating\n1,2,4\n")
    (tmp_path / "test.csv").write_text("user,item,rating\n1,3,4\n\n1,4,9\n")
    message = _load_error(None, train=str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"), scale=[1, 5])
    assert message == f"{tmp_path / 'test.csv'}:4: rating '9' lies outside the scale [1, 5]"


def test_good_files_load_bit_identical_to_movielens(shared_data):
    from bench_plugins import movielens
    from bench_plugins.ratings_file import load_ratings_file

    original = movielens.load_latest_small(data_dir=str(shared_data))
    copy = load_ratings_file(str(shared_data / "ml-latest-small" / "ratings.csv"),
                             columns={"user": "userId", "item": "movieId"}, scale=[0.5, 5])
    assert copy.checksum() == original.checksum()


def test_a_whole_number_written_as_a_decimal_is_not_an_integer(write_suite):
    """JSON Schema counts 30.0 as an integer; a plugin's int parameter would fail at load on it."""
    path = write_suite(SYNTHETIC.replace("n_users: 30", "n_users: 30.0") + "    params: {n_components: 4.0}\n")
    assert errors_of(run_bench("check", str(path))) == [
        f"{path}:4: datasets[0].options.n_users: expected an integer (default 1000), got a number 30.0",
        f"{path}:7: models[0].params.n_components: expected an integer (default 10), got a number 4.0",
    ]


def test_an_unknown_metric_with_no_close_name_lists_the_families_not_every_cutoff(write_suite):
    path = write_suite(SYNTHETIC + "metrics: [zzqqxx]\n")
    [line] = errors_of(run_bench("check", str(path)))
    assert line.startswith(f"{path}:7: metrics[0]: unknown metric 'zzqqxx'; known: ")
    known = line.split("known: ", 1)[1].split(", ")
    assert {"rmse", "mae", "ndcg@k", "recall@k"} <= set(known) and not any("@1" in n for n in known)
