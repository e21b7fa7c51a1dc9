"""failure_summary: the end of ``bench run``'s output says what failed and where it raised."""

from __future__ import annotations

import traceback

from benchmark.failures import MAX_ENTRIES, TAIL_LINES, failure_summary


def _raise_deep() -> None:
    def inner() -> None:
        raise ValueError("n_factors must be positive, got -3")

    inner()


def _traceback() -> str:
    try:
        _raise_deep()
    except ValueError:
        return traceback.format_exc()
    raise AssertionError("unreachable")


def row(fold: str = "1", status: str = "error", model: str = "svd(n_factors=-3)", **extra) -> dict:
    base = {"cell_id": f"c{fold}{model[:3]}", "dataset": "movielens-latest-small", "model": model,
            "fold_name": fold, "seed": 0, "status": status}
    if status == "error":
        base.update(error="ValueError: n_factors must be positive, got -3", traceback=_traceback())
    base.update(extra)
    return base


OK = {"cell_id": "ok1", "dataset": "digits", "model": "pca", "fold_name": "holdout", "status": "ok",
      "metrics": {"mse": 0.01}}


def test_nothing_failed_says_nothing():
    assert failure_summary([OK, OK]) == ""
    assert failure_summary([]) == ""


def test_failed_cell_shows_error_and_last_traceback_lines():
    text = failure_summary([OK, row()])
    lines = text.splitlines()
    assert lines[0] == "1 failed cell:"
    assert lines[1] == ("  ERROR movielens-latest-small svd(n_factors=-3) (fold 1 seed 0): "
                        "ValueError: n_factors must be positive, got -3")
    assert lines[2] == "    cell c1svd in cells.jsonl"
    shown = [line for line in lines if line.startswith("    | ")]
    assert len(shown) == TAIL_LINES
    assert shown[-1] == "    | ValueError: n_factors must be positive, got -3"
    assert 'raise ValueError("n_factors must be positive, got -3")' in shown[-2]
    assert "-v shows them in full" in lines[-1]


def test_verbose_shows_the_whole_traceback():
    text = failure_summary([row()], verbose=True)
    assert "    | Traceback (most recent call last):" in text
    assert "in _raise_deep" in text and "in inner" in text
    assert "-v shows" not in text


def test_folds_failing_alike_are_one_entry():
    text = failure_summary([row(str(fold)) for fold in range(1, 6)])
    assert text.splitlines()[0] == "5 failed cells:"
    assert "(folds 1, 2, 3, 4, 5 seed 0)" in text
    assert "cells c1svd, c2svd, c3svd, c4svd, c5svd in cells.jsonl" in text
    assert text.count("Traceback") + text.count("| ValueError") == 1


def test_crashed_cell_shows_the_end_of_its_log():
    log = "loading\nFatal Python error: Segmentation fault\n\nCurrent thread:\n  File \"m.py\", line 3 in fit\n"
    text = failure_summary([row(status="crashed", error="crashed (signal 11)", log=log)])
    assert "CRASHED movielens-latest-small" in text
    assert "    | Current thread:" in text and '    |   File "m.py", line 3 in fit' in text


def test_a_segfaults_list_of_extension_modules_is_left_out_unless_verbose():
    log = ("Fatal Python error: Segmentation fault\n\nCurrent thread:\n  File \"m.py\", line 3 in fit\n\n"
           "Extension modules: numpy._core._multiarray_umath, pandas._libs.lib (total: 55)\n")
    crashed = row(status="crashed", error="killed by signal 11 (SIGSEGV: Segmentation fault)", log=log)
    text = failure_summary([crashed])
    assert "Extension modules" not in text and '    |   File "m.py", line 3 in fit' in text
    assert "Extension modules" in failure_summary([crashed], verbose=True)


def test_timeout_without_evidence_has_no_traceback_hint():
    text = failure_summary([row(status="timeout", error="timeout after 600 s")])
    assert "TIMEOUT" in text and "timeout after 600 s" in text
    assert "| " not in text and "-v shows" not in text


def test_metric_errors_of_successful_cells():
    ok = {**OK, "metric_errors": {"bce": "non-finite value nan"}}
    text = failure_summary([ok])
    assert text == "metric errors in 1 cell:\n  digits fold holdout pca: bce: non-finite value nan\n"


def test_many_failures_are_capped_unless_verbose():
    rows = [row(model=f"m{n}") for n in range(MAX_ENTRIES + 5)]
    short = failure_summary(rows)
    assert "... and 5 more failures (-v lists all)" in short
    assert short.count("  ERROR ") == MAX_ENTRIES
    assert failure_summary(rows, verbose=True).count("  ERROR ") == MAX_ENTRIES + 5


BROKEN_PLUGIN = '''
from benchmark.api import RATING, ModelSpec, RatingModel, hookimpl


def check_rank(rank):
    raise ValueError(f"rank must be positive, got {rank}")


class Broken(RatingModel):
    """Raises in fit, as a buggy model would."""

    def fit(self, train):
        check_rank(-3)

    def estimate(self, u, i):
        return u * 0.0


@hookimpl
def bench_models():
    return [ModelSpec("broken", {RATING: Broken})]
'''


def test_bench_run_ends_with_the_failure_and_where_it_raised(tmp_path):
    from tests.conftest import run_bench

    (tmp_path / "broken.py").write_text(BROKEN_PLUGIN)
    (tmp_path / "suite.yaml").write_text(
        "name: failing\nplugins: [broken.py]\nsplit: {method: kfold, k: 2}\n"
        "datasets: [{name: synthetic-ratings, options: {n_users: 30, n_items: 20, density: 0.3}}]\n"
        "models: [global-mean, broken]\n")
    result = run_bench("run", str(tmp_path / "suite.yaml"), "--out", str(tmp_path / "out"), "-q")
    assert result.returncode == 1
    out = result.stdout
    assert "2 failed cells:\n  ERROR synthetic-ratings broken (folds 1/2, 2/2 seed 0): " \
           "ValueError: rank must be positive, got -3\n" in out
    assert '    |     raise ValueError(f"rank must be positive, got {rank}")\n' in out
    assert "    | ValueError: rank must be positive, got -3\n" in out
    assert out.index("failed cells:") < out.index("cells run, 0 reused, 2 failed")
