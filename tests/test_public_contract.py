"""benchmark.api is the contract, whatever lives below it: every name it exported at contract 1.0
(and every name of its ``__all__`` today) is importable from it, and what it re-exports is the
very object of the module that implements it -- a plugin catching ``benchmark.api.PluginInputError``
catches what bench raises."""

from __future__ import annotations

import subprocess
import sys

import benchmark.api as api
import benchmark.datafiles
import benchmark.errors
import benchmark.indexing
import benchmark.locations
import benchmark.requirements

API_1_0 = (
    "API_VERSION", "RATING", "RECONSTRUCTION", "TASKS", "Fold", "LazyFolds", "RatingData", "MatrixData",
    "Predictions", "Model", "RatingModel", "ReconstructionModel", "ModelSpec", "DatasetSpec", "SplitSpec",
    "MetricSpec", "MissingDependency", "PluginInputError", "hookimpl", "cache_dir", "data_dir", "require",
    "fingerprint_indices", "report_progress",
)
"""``benchmark.api.__all__`` of bench-harness 0.1.0 (contract 1.0)."""


def test_every_name_of_contract_1_0_and_of_all_is_exported():
    assert set(API_1_0) <= set(api.__all__)
    assert [name for name in api.__all__ if not hasattr(api, name)] == []


def test_what_api_re_exports_is_the_implementing_modules_object():
    moved = {
        benchmark.errors: ("MissingDependency", "PluginInputError", "DownloadError", "ChecksumMismatch",
                           "clip", "excerpt"),
        benchmark.requirements: ("require",),
        benchmark.locations: ("cache_dir", "data_dir"),
        benchmark.indexing: ("distinct_in_order", "positions_in", "CHUNK"),
        benchmark.datafiles: ("DownloadError", "ChecksumMismatch", "download_file", "declare_files"),
    }
    for module, names in moved.items():
        for name in names:
            assert getattr(api, name) is getattr(module, name), (module.__name__, name)
    assert issubclass(api.PluginInputError, ValueError) and issubclass(api.MissingDependency, ImportError)
    assert str(api.MissingDependency("surprise", "scikit-surprise", "svd")) == \
        "svd needs 'surprise': pip install scikit-surprise"


def test_the_data_file_helpers_do_not_need_the_public_module():
    """``benchmark.datafiles`` sits below ``benchmark.api`` (no import circle between them)."""
    code = "import sys, benchmark.datafiles; print('benchmark.api' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert found.stdout.strip() == "False", found.stdout + found.stderr
