"""Labels a shell can take: short aliases for configuration labels, and resolving what a user typed.

**Aliases.** A label that a shell would need quoted (``svd(k=4)``, ``fast svd``) gets a short
alias (``m`` + 6 hex digits of the label's hash: the same in every view) shown in the
leaderboard; :func:`resolve_label` accepts a label, an alias or a configuration-id prefix and,
for anything else, lists the valid ones closest first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from benchmark.cells import stable_hash
from benchmark.errors import BenchError, did_you_mean

# what a POSIX shell passes through unquoted; a leading "-" would read as an option
SHELL_FRIENDLY = re.compile(r"^[A-Za-z0-9_@%+=:,./][A-Za-z0-9_@%+=:,./-]*$")


def shell_friendly(label: str) -> bool:
    return bool(SHELL_FRIENDLY.match(label))


def alias(label: str, length: int = 6) -> str:
    """The alias of a label: ``m`` and the first ``length`` hex digits of its hash.

    Derived from the label alone, so the same label has the same alias in every view — the
    leaderboard.md of a run, ``bench leaderboard`` of several runs, ``bench compare --rows``
    long after more configurations were stored — which a numbering (m1, m2...) could not
    promise: adding one configuration would renumber the rest.
    """
    return "m" + stable_hash(label, length)


def aliases(labels: Iterable[str]) -> dict[str, str]:
    """``{label: alias}`` for the labels a shell would need quoted. Two labels whose short
    aliases collide both get the 12-digit one; an alias never equals a label."""
    labels = set(labels)
    wanted = sorted(label for label in labels if not shell_friendly(label))
    short: dict[str, list[str]] = {}
    for label in wanted:
        short.setdefault(alias(label), []).append(label)
    out: dict[str, str] = {}
    for name, owners in short.items():
        for label in owners:
            out[label] = name if len(owners) == 1 and name not in labels else alias(label, 12)
    return out


def resolve_label(label: str, lines: Sequence[Any], where: str = "--rows") -> Any:
    """The line (or label, for a list of strings) that ``label`` names: a label, an alias shown
    in the leaderboard, or a unique prefix (4+ characters) of a configuration id.

    Raises :class:`BenchError` listing the valid labels (with their aliases), closest first,
    located at ``where``. For ``bench compare --rows`` / ``--baseline``.
    """
    labels = [item if isinstance(item, str) else item.model for item in lines]
    names = aliases(labels)
    for item, name in zip(lines, labels):
        if label == name or (label == names.get(name)):
            return item
    if len(label) >= 4:
        matches = {getattr(item, "config_id", ""): item for item in lines
                   if getattr(item, "config_id", "").startswith(label)}
        if len(matches) == 1:
            return next(iter(matches.values()))
    distinct = list(dict.fromkeys(labels))
    close = difflib.get_close_matches(label, distinct + list(names.values()), n=len(distinct) + len(names),
                                      cutoff=0.0)
    ordered = list(dict.fromkeys(next((n for n, a in names.items() if a == c), c) for c in close))
    ordered += [name for name in distinct if name not in ordered]
    shown = [f"{name} ({names[name]})" if name in names else name for name in ordered]
    listing = ", ".join(shown[:20]) + (f" and {len(shown) - 20} more" if len(shown) > 20 else "")
    hint = did_you_mean(label, distinct)
    hint = f"{hint} " if hint else ""
    raise BenchError(f"no configuration labelled {label!r}; {hint}valid (closest first): {listing or 'none'}",
                     where)
