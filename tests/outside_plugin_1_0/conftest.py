"""bench's own test run leaves the frozen package's tests (``bench-tastes/tests``) alone: they
import ``bench_tastes``, which exists only once the package is installed.
``tests/test_outside_plugin_1_0.py`` installs a copy and runs them as the package's author does.

This file is bench's, not the package's (the package is ``bench-tastes/``, frozen)."""

collect_ignore = ["bench-tastes"]
