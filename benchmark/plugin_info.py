"""What ``bench plugins`` prints: every plugin with its provider and state, or one in detail."""

from __future__ import annotations

import re

from benchmark.errors import BenchError, did_you_mean
from benchmark.params import Param, model_params, task_params
from benchmark.registry import Entry, Registry, is_model_class_usable
from benchmark.suite import dataset_params, split_params


def _state(entry: Entry) -> str:
    if entry.unusable:
        return f"no: {entry.unusable}"
    missing = entry.missing
    if missing:
        return f"no: pip install {' '.join(missing)}"
    broken = entry.broken_reference  # a lazy "module:attr" whose module is not there
    return f"no: {broken}" if broken else "yes"


_AT_K = re.compile(r"^(?P<family>[^@]+)@(?P<k>[0-9]+)$")
_ONE_K = re.compile(r"\(k = [0-9]+; ")


def folded(rows: list[list[str]]) -> list[list[str]]:
    """Rows ``[name, kind, tasks, provider, usable, summary]`` with each ``@k`` family of one
    provider and state as one row: ``ndcg@{1,3,5,10,20,50,100}``, its summary without the
    cut-off (seven cut-offs x seven families were half the listing)."""
    families: dict[tuple[str, ...], list[list[str]]] = {}
    out: list[list[str] | tuple[str, ...]] = []
    for row in rows:
        found = _AT_K.match(row[0])
        if not found:
            out.append(row)
            continue
        key = (found["family"], *row[1:5])
        if key not in families:
            families[key] = []
            out.append(key)
        families[key].append(row)
    result = []
    for item in out:
        if isinstance(item, list):
            result.append(item)
            continue
        members = families[item]
        if len(members) == 1:
            result.append(members[0])
            continue
        cutoffs = sorted(int(_AT_K.match(m[0])["k"]) for m in members)  # type: ignore[index]
        summary = _ONE_K.sub("(", members[0][5])
        result.append([f"{item[0]}@{{{','.join(map(str, cutoffs))}}}", *item[1:], summary])
    return result


def table(registry: Registry) -> str:
    """Every name with kind, tasks, provider and whether it can be used (each ``@k`` family of
    metrics on one line: :func:`folded`); then broken plugins."""
    from tabulate import tabulate

    rows = folded([[e.name, e.kind, ", ".join(e.tasks), e.provider.describe(), _state(e),
                    getattr(e.spec, "summary", "")] for e in registry.all()])
    text: str = tabulate(rows, headers=["name", "kind", "tasks", "provided by", "usable", "summary"])
    if registry.problems:
        broken = [[p.provider.plugin, p.provider.describe(), p.reason] for p in registry.problems]
        text += "\n\nunusable plugins (nothing they provide is loaded)\n"
        text += tabulate(broken, headers=["plugin", "provided by", "reason"])
    return text


def _param_rows(params: dict[str, Param]) -> list[list[str]]:
    rows = []
    for p in params.values():
        default = "(required)" if p.required else repr(p.default)
        rows.append([p.name, p.type_text(), default, p.constraint_text(), p.doc])
    return rows


def parameters(registry: Registry, entry: Entry) -> dict[str, dict[str, Param]]:
    """Parameters by section title: per task for a model, options for a dataset, a split's."""
    if entry.kind == "model":
        found = {}
        for task in entry.spec.tasks:
            reason = is_model_class_usable(entry, task, registry)
            if reason:
                raise BenchError(f"model {entry.name!r} ({task}) is unusable: {reason}")
            found[f"parameters ({task})"] = model_params(entry.model_class(task))
        return found
    if entry.kind == "dataset":
        return {"options": dataset_params(entry)}
    if entry.kind == "split":
        return {"parameters": split_params(entry)}
    if entry.kind == "task":
        return {"options (keys of a dataset entry)": task_params(entry.spec)}
    return {}


def describe_plugin(registry: Registry, name: str) -> str:
    """One plugin in detail: what it is, who provides it, and its parameters."""
    from tabulate import tabulate

    matches = [e for e in registry.all() if name in (e.name, e.qualified)]
    if not matches:
        for problem in registry.problems:
            if name in problem.names:
                raise BenchError(f"plugin {problem.provider.plugin!r} from {problem.provider.describe()} "
                                 f"is unusable: {problem.reason}")
        known = sorted({e.name for e in registry.all()})
        hint = did_you_mean(name, known, n=3, cutoff=0.5) or "see bench plugins"
        raise BenchError(f"no plugin provides {name!r}; {hint}")
    blocks = []
    for entry in matches:
        head = [f"{entry.name} ({entry.kind}; {', '.join(entry.tasks)})",
                f"  {getattr(entry.spec, 'summary', '')}".rstrip(),
                f"  provided by {entry.provider.describe()}; usable: {_state(entry)}"]
        if entry.requires:
            head.append("  requires " + ", ".join(f"{m} (pip install {d})" for m, d in entry.requires.items()))
        if entry.name != entry.qualified:
            head.append(f"  also called {entry.qualified}")
        if entry.kind == "metric":
            head.append(f"  {'higher' if entry.spec.greater_is_better else 'lower'} is better")
        if entry.kind == "task":
            spec = entry.spec
            head.append(f"  models derive from {getattr(spec.model_base, '__name__', spec.model_base)}; "
                        f"data: {', '.join(k.__name__ for k in spec.data_types)}")
            served = [t for t, task in registry.tasks().items() if t != entry.name
                      and any(task.serves(k) for k in spec.data_types)]
            if served:
                head.append(f"  the same data also serves: {', '.join(served)}")
            if spec.primary:
                head.append(f"  primary metric {spec.primary}; default metrics "
                            f"{', '.join(spec.default_metrics) or 'all of the task'}")
        block = "\n".join(head)
        if not entry.unusable and not entry.broken_reference:
            for title, params in parameters(registry, entry).items():
                body = tabulate(_param_rows(params), headers=["name", "type", "default", "allowed", "doc"], disable_numparse=True,
                                maxcolwidths=[None, None, None, 30, 50]) if params else "  (none)"
                block += f"\n\n{title}\n{body}"
        blocks.append(block)
    return "\n\n".join(blocks)
