"""The commands that read results: ``bench compare``, ``bench leaderboard``, ``bench results``,
``bench report``.

:func:`register` adds their parsers to ``bench``'s subcommands and returns their handlers. Every
import of pandas, scipy, tabulate or matplotlib happens inside a handler, so ``bench --help``
stays instant. A handler returns the exit code; bad input raises :class:`BenchError` (one line,
exit 2).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

FORMATS = {"table": "simple", "md": "github", "csv": "csv"}
NOTHING_PAIRED = 3
"""``bench compare`` exit code when no row could be paired (with or without a gate): a gate
against the wrong baseline must not stay green, and "no paired cells" is not an answer."""


def _threshold(value: str) -> float:
    try:
        threshold = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number (absolute Δ of the metric), got {value!r}") from None
    if threshold < 0 or threshold != threshold:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {value!r}")
    return threshold


def _alpha(value: str) -> float:
    try:
        alpha = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a level such as 0.05, got {value!r}") from None
    if not 0 < alpha < 1:
        raise argparse.ArgumentTypeError(f"expected a level between 0 and 1, got {value!r}")
    return alpha


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the ``compare``, ``leaderboard``, ``results`` and ``report`` parsers; their handlers."""
    compare = commands.add_parser(
        "compare", help="compare two runs (or configurations of one run) fold by fold",
        description="Pair the cells of run A and run B by (dataset checksum, split fingerprint, fold, seed, "
                    "configuration), average each fold's seeds, and test the fold differences: the paired t-test "
                    "for one partition into folds, the Nadeau-Bengio corrected t-test for repeated CV, a paired "
                    "bootstrap over users for a single split (--test auto). Several rows: Holm-adjusted, each CI "
                    "at its Holm step level. See docs/results.md.")
    compare.add_argument("runs", nargs="+", metavar="RUN",
                         help="results directories: A B, or one with --rows, --all or --baseline")
    compare.add_argument("--rows", nargs=2, metavar=("LABEL_A", "LABEL_B"),
                         help="compare two configurations (model labels) inside one run, or LABEL_A of run A "
                              "against LABEL_B of run B")
    compare.add_argument("--all", action="store_true",
                         help="every pair of configurations inside one run (Holm over the whole family; a table "
                              "with superscript letters for significant wins; Friedman/Nemenyi over datasets)")
    compare.add_argument("--baseline", metavar="LABEL", help="every configuration of one run against LABEL")
    compare.add_argument("--by", choices=["config", "label"], default="config",
                         help="pair configurations by config_id (default) or by model label")
    compare.add_argument("--ignore-seed", action="store_true",
                         help="pair each fold's seed mean in A with the one in B whatever the seeds (a seed-0 run "
                              "against a seed-1 rerun on the same fixed splits)")
    compare.add_argument("--test", choices=["auto", "t", "nb", "permutation", "units", "bayes"], default="auto",
                         help="auto (default): t over folds for one partition, nb (Nadeau-Bengio) when the folds "
                              "come from several partitions, units (paired bootstrap over users, resampled jointly "
                              "across folds) for one fold; permutation: exact sign-flip over folds; bayes (with "
                              "--rope): probabilities that B is better, practically equivalent or worse")
    compare.add_argument("--rope", type=_threshold, metavar="R",
                         help="--test bayes: the region of practical equivalence, the largest |Δ| that does not "
                              "matter, in the metric's units")
    compare.add_argument("--metric", help="metric to compare (default: each task's primary metric, "
                                          "the first of the suite's metrics); several, comma-separated "
                                          "(rmse,mae): a row per metric, all one Holm family")
    compare.add_argument("--alpha", type=_alpha, default=0.05, help="significance level (default 0.05)")
    compare.add_argument("--fail-on-regression", nargs="?", const=-1.0, default=None, type=_threshold,
                         metavar="T",
                         help="a gate that proves safety: exit 0 only when every row shows B no worse than A by T "
                              "or more (non-inferiority: the one-sided 1-alpha bound of the worsening stays below "
                              "T) and B has a finite value wherever A has one; else exit 1. Without T: exit 1 when "
                              "a row is significantly worse or B lacks values A has (proves harm only). Exit 3 "
                              "when nothing could be paired")
    compare.add_argument("--fail-on-proven-regression", nargs="?", const=-1.0, default=None, type=_threshold,
                         metavar="T",
                         help="a gate that proves harm: exit 1 when a row is significantly worse in B; with T, "
                              "when the CI shows B worse by more than T (a green exit does not mean 'no "
                              "regression > T': use --fail-on-regression T for that)")
    compare.add_argument("--format", choices=sorted(FORMATS) + ["json"], default="table")

    board = commands.add_parser("leaderboard", help="one ranked table from one or more runs")
    board.add_argument("runs", nargs="+", metavar="RUN", help="results directories")
    board.add_argument("--force", action="store_true",
                       help="rank lines with different splits or data together (still marked)")
    board.add_argument("--format", choices=sorted(FORMATS), default="table")
    board.add_argument("--all-stored", action="store_true", help="every stored configuration, not only the current suite's")
    board.add_argument("--wide", action="store_true",
                       help="every column (config and split hashes, every metric, runs) however wide; "
                            "by default the table fits 100 columns")

    results = commands.add_parser("results", help="print every cell of runs as one flat table")
    results.add_argument("runs", nargs="+", metavar="RUN", help="results directories")
    results.add_argument("--format", choices=["csv", "json", "md"], default="csv")
    results.add_argument("--failed", action="store_true",
                         help="only cells that failed or have a metric error (with error and traceback)")
    results.add_argument("--cell", metavar="ID",
                         help="print one cell's full stored record as JSON (an id prefix is enough)")
    results.add_argument("--trials", action="store_true",
                         help="add the trials of tune: searches (column tuning = trial; fold is the outer fold, "
                              "the metric the inner split's); refit rows always have the chosen parameters "
                              "in the chosen column")
    results.add_argument("--columns", metavar="A,B,...",
                         help="only these columns, in this order (a metric by its name: rmse or metric.rmse)")
    results.add_argument("--tuned", action="store_true",
                         help="only tuned configurations' refits: the parameters each outer fold's search chose "
                              "(column chosen) and the score on that fold")
    results.add_argument("--rankings", metavar="DIR",
                         help="write each ranking/next-item cell's ranked lists as TREC files: DIR/<cell id>.run "
                              "(user Q0 item rank score tag) and DIR/<cell id>.qrels (its judgements), "
                              "for ranx or trec_eval; nothing is refit")

    report = commands.add_parser("report", help="write a self-contained HTML report of runs")
    report.add_argument("runs", nargs="+", metavar="RUN", help="results directories (two: with a comparison)")
    report.add_argument("-o", "--output", default="report.html", help="HTML file (default report.html)")
    report.add_argument("--all-stored", action="store_true", help="every stored configuration, not only the current suite's")
    return {"compare": _compare, "leaderboard": _leaderboard, "results": _results, "report": _report}


def _compare(args: argparse.Namespace) -> int:
    from benchmark import compare
    from benchmark.errors import BenchError
    from benchmark.resultset import read_runs

    inside = [flag for flag, on in (("--rows", args.rows), ("--all", args.all), ("--baseline", args.baseline)) if on]
    if len(inside) > 1:
        raise BenchError(f"expected one of --rows, --all, --baseline, got {' and '.join(inside)}", "bench compare")
    options = compare.Options(args.metric, args.alpha, args.test, args.ignore_seed, args.rope)
    if inside and not (inside == ["--rows"] and len(args.runs) == 2):
        if len(args.runs) != 1:
            raise BenchError(f"expected one run with {inside[0]}"
                             + (" (or two with --rows)" if inside == ["--rows"] else "") + f", got {len(args.runs)}",
                             "bench compare")
        (a,) = read_runs(args.runs)
        _warn(a.warnings)
        choice = compare.Inside(rows=tuple(args.rows) if args.rows else None, baseline=args.baseline,
                                all_pairs=args.all)
        result = compare.compare_inside(a, choice, options=options)
    else:
        if len(args.runs) != 2:
            raise BenchError(f"expected two runs A B (or one with --rows, --all or --baseline), got {len(args.runs)}",
                             "bench compare")
        a, b = read_runs(args.runs)
        _warn(a.warnings + b.warnings)
        result = compare.compare(a, b, by=args.by, rows=tuple(args.rows) if args.rows else None, options=options)
    fmt = FORMATS.get(args.format, args.format)  # json: as it is
    sys.stdout.write(compare.render(result, fmt))
    if fmt in ("csv", "json"):
        sys.stderr.write(compare.stderr_notes(result))
    sys.stdout.flush()
    gates = [(flag, value) for flag, value in (("--fail-on-regression", args.fail_on_regression),
                                               ("--fail-on-proven-regression", args.fail_on_proven_regression))
             if value is not None]
    if not result.rows and not gates and compare.is_empty(result):
        return 0  # no result row on either side (a run stopped in its trials): nothing to pair, said once
    if not result.rows:
        reasons = Counter(u.reason for u in result.unpaired).most_common(2)
        why = "; ".join(f"{n} cells: {reason}" for reason, n in reasons) or "no cell has the metric"
        what = compare.NOTHING if compare.is_empty(result) else f"nothing could be paired ({why})"
        where = gates[0][0] if gates else "bench compare"
        sys.stderr.write(f"bench: error: {where}: {what}\n")
        return NOTHING_PAIRED
    codes = [_proven_regression(result, value) if flag == "--fail-on-proven-regression"
             else _regression_gate(result, value) for flag, value in gates]
    return max(codes, default=0)


def _untested_warning(result: Any, flag: str) -> None:
    untested = [row for row in result.rows if row.p is None and row.probabilities is None]
    if untested:
        reasons = Counter(row.reason for row in untested).most_common(2)
        sys.stderr.write(f"bench: warning: {flag}: {len(untested)} row(s) could not be tested ("
                         + "; ".join(f"{n}: {reason}" for reason, n in reasons) + ")\n")


def _proven_regression(result: Any, value: float, flag: str = "--fail-on-proven-regression") -> int:
    """Exit 1 when a row is significantly worse (``value`` < 0) or its CI shows B worse by more
    than ``value``: proves harm; a green exit does not prove safety."""
    _untested_warning(result, flag)
    threshold = None if value < 0 else value
    worse = result.regressions(threshold)
    if not worse:
        return 0
    what = "significantly worse" if threshold is None else f"worse by more than {threshold:g} at the CI's confidence"
    sys.stderr.write(f"bench: regression: {len(worse)} row(s) {what} in B: "
                     + "; ".join(f"{r.model} on {r.dataset} ({r.metric} Δ {r.delta:+.4g}, CI "
                                 f"[{r.ci[0]:+.4g}, {r.ci[1]:+.4g}])" for r in worse if r.ci)
                     + "\n")
    return 1


def _regression_gate(result: Any, value: float) -> int:
    """``--fail-on-regression [T]``: B must have a finite value wherever A has one; with T, every
    row must show non-inferiority at margin T (one-sided at alpha); without T, no row may be
    significantly worse (the old check, which proves harm only: said on stderr)."""
    code = 0
    lacking = result.lacking()
    if lacking:
        counts = Counter(f"{u.model} on {u.dataset}: {u.reason}" for u in lacking)
        sys.stderr.write(f"bench: regression: B lacks {len(lacking)} finite value(s) A has: "
                         + "; ".join(f"{n} × {what}" for what, n in sorted(counts.items())) + "\n")
        code = 1
    if value < 0:
        sys.stderr.write("bench: note: --fail-on-regression without T fails only on a proven regression; "
                         "--fail-on-regression T passes only when B is shown no worse than A by T or more\n")
        return max(code, _proven_regression(result, value, "--fail-on-regression"))
    unsafe = result.not_shown_safe(value)
    if unsafe:
        sys.stderr.write(f"bench: regression: {len(unsafe)} row(s) not shown to be no worse than A by {value:g} "
                         f"(one-sided, alpha {result.alpha:g}): "
                         + "; ".join(f"{r.model} on {r.dataset} ({r.metric} Δ {r.delta:+.4g}: {why})"
                                     for r, why in unsafe) + "\n")
        return 1
    return code


def _leaderboard(args: argparse.Namespace) -> int:
    from benchmark import leaderboard, resultset

    loaded = resultset.load(args.runs)
    _warn(loaded.warnings)
    fmt = FORMATS[args.format]
    if fmt != "simple":
        sys.stdout.write(leaderboard.show(loaded, fmt, force=args.force, all_stored=args.all_stored))
        return 0
    lines, metrics, note = leaderboard.from_results(loaded, args.force, args.all_stored)
    sys.stdout.write(leaderboard.render(lines, metrics, fmt, wide=args.wide) + (f"\n{note}\n" if note else ""))
    return 0


def _warn(messages: list[str]) -> None:
    for message in messages:
        sys.stderr.write(f"bench: warning: {message}\n")


def _cell_record(runs: list[str], prefix: str) -> int:
    """Print the stored record of the one cell whose id starts with ``prefix``."""
    import json

    from benchmark import resultset
    from benchmark.errors import BenchError

    loaded = resultset.load(runs)
    _warn(loaded.warnings)
    found = [r for r in loaded.rows + loaded.trials if str(r.cell_id).startswith(prefix)]
    if len(found) != 1:
        shown = ", ".join(sorted(str(r.cell_id)[:12] for r in found)[:5])
        raise BenchError(f"no cell id starts with {prefix!r}" if not found else
                         f"{len(found)} cell ids start with {prefix!r} ({shown}...): give more characters",
                         "--cell")
    (r,) = found
    stored = json.loads(json.dumps(r.to_row(), sort_keys=True, default=str))  # keys as cells.jsonl has them
    record = {**stored, "run": r.run, "run_dir": r.run_dir}
    sys.stdout.write(json.dumps(record, indent=1, ensure_ascii=False, default=str) + "\n")
    return 0


def _results(args: argparse.Namespace) -> int:
    import warnings

    from benchmark.results import ResultWarning, load

    if args.cell:
        return _cell_record(args.runs, args.cell)
    if args.rankings:
        return _rankings(args.runs, args.rankings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResultWarning)
        frame = load(args.runs, trials=args.trials or args.failed)  # a failed trial is a failure too
    _warn([str(w.message) for w in caught if issubclass(w.category, ResultWarning)])
    if args.failed:
        frame = frame[(frame["status"] != "ok") | frame["metric_errors"].notna()] \
            if "metric_errors" in frame.columns else frame[frame["status"] != "ok"]
    else:
        frame = frame.drop(columns=["traceback"], errors="ignore")
    if args.tuned:
        frame = tuned_refits(frame)
        if frame.empty:
            _warn(["no tuned configuration (a model with a tune: block) in these runs"])
    if args.columns:
        frame = frame[chosen_columns(list(frame.columns), args.columns)]
    if args.format == "csv":
        from benchmark.csvsafe import csv_safe_frame

        csv_safe_frame(frame).to_csv(sys.stdout, index=False)
    elif args.format == "json":
        sys.stdout.write(frame.to_json(orient="records", force_ascii=False, indent=1) + "\n")
    else:
        from tabulate import tabulate

        # NaN as empty; disable_numparse keeps ids such as 0123abcd as written
        records = [[_markdown_cell(value) for value in record]
                   for record in frame.astype(object).where(frame.notna(), "").values.tolist()]
        sys.stdout.write(tabulate(records, headers=list(frame.columns), tablefmt="github",
                                  disable_numparse=True) + "\n")
    return 0


TUNED_COLUMNS = ["run", "dataset", "model", "fold", "fold_name", "seed", "chosen"]


def tuned_refits(frame: Any) -> Any:
    """``--tuned``: the refit rows of tuned configurations, with what each outer fold chose and
    the metrics it then scored on that fold (the trials stay out)."""
    from benchmark.results import METRIC_PREFIX

    refits = frame[frame["tuning"] == "refit"] if "tuning" in frame.columns else frame.iloc[0:0]
    metrics = [c for c in frame.columns if c.startswith(METRIC_PREFIX) and refits[c].notna().any()]
    return refits[[c for c in TUNED_COLUMNS if c in frame.columns] + metrics + ["status", "error"]]


def chosen_columns(available: list[str], wanted: str) -> list[str]:
    """``--columns a,b,c``: those columns in that order; a metric may be named without its
    ``metric.`` prefix. An unknown name is one line with the nearest known ones."""
    from benchmark.errors import BenchError, did_you_mean
    from benchmark.results import METRIC_PREFIX

    chosen = []
    for name in (part.strip() for part in wanted.split(",")):
        if not name:
            continue
        found = name if name in available else METRIC_PREFIX + name if METRIC_PREFIX + name in available else None
        if found is None:
            hint = did_you_mean(name, available + [c.removeprefix(METRIC_PREFIX) for c in available], n=3)
            raise BenchError(f"no column {name!r}; {hint or 'columns: ' + ', '.join(available)}", "--columns")
        chosen.append(found)
    if not chosen:
        raise BenchError("expected column names separated by commas, e.g. model,fold,rmse", "--columns")
    return chosen


def _rankings(runs: list[str], directory: str) -> int:
    """``--rankings DIR``: the stored ranked lists of the runs' latest cells as TREC files."""
    from benchmark import resultset, trec

    loaded = resultset.load(runs)
    _warn(loaded.warnings)
    exported = trec.export(loaded.rows, directory)
    if exported.missing:
        _warn([f"{len(exported.missing)} ranking cell(s) have no stored ranked lists (run before bench "
               f"stored them, e.g. {exported.missing[0][:12]}): run them again with --fresh to export them"])
    print(f"{len(exported.cells)} cell(s) written to {directory}/ (<cell id>.run, <cell id>.qrels, cells.csv)")
    return 0 if exported.cells or not exported.missing else 1


def _markdown_cell(value: Any) -> Any:
    """A Markdown table cell: a line break (a traceback's) as ``<br>``, ``|`` and backslashes
    escaped, ``<`` and ``&`` as entities (``<module>`` is text, not a tag), so that one row
    stays one row and reads as written."""
    if not isinstance(value, str):
        return value
    import html

    text = html.escape(value, quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def _report(args: argparse.Namespace) -> int:
    from benchmark import report

    path = report.write(args.runs, args.output, warn=lambda message: _warn([message]), all_stored=args.all_stored)
    print(f"report written to {path}")
    return 0
