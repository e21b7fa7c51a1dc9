"""Per-model Python environments: a model whose library clashes with bench's own dependencies
(LensKit wants pandas 2 where bench runs pandas 3; RecBole wants an older numpy) runs its cells
in workers started with another interpreter, built once and cached.

A suite declares them by name and a model line names one::

    environments:
      pandas2: {requirements: ["pandas>=2.2,<3"], python: "3.11"}
    models:
      - {name: lenskit-ease, env: pandas2}

:func:`parse_environments` reads that block into :class:`EnvironmentSpec` records (one-line
errors: key, expected, found). :func:`build` makes the environment **once** under
``<cache>/envs/<hash>``, where the hash covers the specification *and* bench's worker side (its
core requirements, its version and the source tree it is installed from): a change on either
side is a new environment, an unchanged suite reuses the old one in milliseconds.

**How it is built, and why venv + pip rather than uv.** ``python -m venv`` then one ``pip
install`` of the environment's requirements together with bench itself (``-e <source>`` from
the checkout bench runs from, else ``bench-harness==<version>``). One resolver pass is the
constraint-aware install: ``pandas>=2.2,<3`` and bench's own ``pandas>=2.2`` are solved
together (pandas 2.3), and a requirement that bench's core cannot live with fails the build
instead of a cell. venv and pip need nothing that bench's users do not already have, and pip
honours the machine's pip configuration — its wheel cache, its ``find-links`` and its
constraints file (this machine caps ``torch`` at the CPU wheel on its disk: uv reads neither
``pip.conf`` nor its constraints, so ``torch`` there would pull several GB of CUDA wheels). uv
would be faster: a measured build of the same small environment is in ``docs/arena.md``.

**Atomic, locked, one line when it fails.** The environment is built in a temporary directory
beside its final place and renamed into place once bench's worker side imports there (scripts
whose first line names the temporary path are rewritten first); a failed build removes it and
raises one :class:`~benchmark.errors.BenchError` with pip's last meaningful line (the whole log
is kept in ``<hash>-failed.log``). An exclusive ``flock`` per hash makes a second run wait for
the first build and then reuse it; a build killed half-way leaves only a temporary directory,
removed by the next build of that hash.

**Running a worker there** is the engine's: start ``Environment.python -m benchmark.worker``
(:meth:`Environment.worker_command`) with :meth:`Environment.worker_variables`, and send it
:meth:`Environment.worker_sys_path` in its ``setup`` message instead of the driver's
``sys.path`` — the driver's site-packages would put pandas 3 back in front of pandas 2.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import BenchError, did_you_mean, excerpt, raise_all
from benchmark.locations import cache_dir

DISTRIBUTION = "bench-harness"
METADATA = "bench-env.json"
"""Written last into a built environment: what it is (spec, hash, versions). Its presence is
what makes a directory under ``envs/`` an environment."""
FORMAT = 1
WORKER_MODULE = "benchmark.worker"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PYTHON_VERSION = re.compile(r"^3\.\d{1,2}$")
ENV_KEYS = ("requirements", "python")
LEAKING_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV",
                     "__PYVENV_LAUNCHER__")
"""The driver's variables that would let the environment's interpreter (or pip) see the driver's
packages: removed from a build's and a worker's environment."""
LOCK_POLL = 0.2

# The probe run inside a new environment: bench's worker side must import there, and what is
# installed (for provenance) and the interpreter's own sys.path (for the worker) are read once.
PROBE = """
import importlib.metadata as m, json, sys
import benchmark.execute, benchmark.worker, bench_plugins
versions = {}
for dist in m.distributions():
    name = dist.metadata["Name"]
    if name:
        versions.setdefault(name.lower().replace("_", "-"), dist.version)
print(json.dumps({"python": "%d.%d.%d" % sys.version_info[:3], "versions": versions,
                  "sys_path": [p for p in sys.path if p]}))
"""


# --- The specification ----------------------------------------------------------------------


@dataclass(frozen=True)
class EnvironmentSpec:
    """A named environment: pip requirements and, optionally, a Python version ("3.11").

    ``name`` is a label (a suite's key); two suites declaring the same requirements under
    different names share one built environment (the hash leaves the name out)."""

    name: str
    requirements: tuple[str, ...] = ()
    python: str | None = None

    def identity(self) -> dict[str, Any]:
        """What the hash covers: the requirements (sorted, without spaces: pip solves them as a set), the Python
        version, and bench's worker side."""
        return {"format": FORMAT, "requirements": sorted("".join(r.split()) for r in self.requirements),
                "python": self.python or "%d.%d" % sys.version_info[:2], "worker": worker_side()}

    @property
    def hash(self) -> str:
        canonical = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "requirements": list(self.requirements), "python": self.python}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvironmentSpec:
        return cls(str(data["name"]), tuple(data.get("requirements") or ()), data.get("python"))


def bench_source() -> Path | None:
    """The checkout bench runs from (``pyproject.toml`` beside ``benchmark/``), or ``None`` when
    bench is installed from a wheel."""
    import benchmark

    root = Path(benchmark.__file__).resolve().parent.parent
    project = root / "pyproject.toml"
    try:
        text = project.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if re.search(r'^name\s*=\s*"bench-harness"', text, re.MULTILINE) else None


def core_requirements() -> tuple[str, ...]:
    """bench's own dependencies without extras: what its worker side needs wherever it runs."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        found = requires(DISTRIBUTION) or []
    except PackageNotFoundError:
        return ()
    return tuple(sorted(r for r in found if not re.search(r"\bextra\s*==", r)))


def bench_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def worker_side() -> dict[str, Any]:
    """bench's part of every environment's identity: its core requirements, its version and the
    source it is installed from (an environment points at one checkout's code)."""
    source = bench_source()
    return {"requires": list(core_requirements()), "bench": bench_version(),
            "source": str(source) if source else None}


def bench_install_arguments() -> list[str]:
    """How pip installs bench into an environment: editable from the source tree bench runs from
    (changes to the code reach every environment), else the same release from the index."""
    source = bench_source()
    return ["-e", str(source)] if source else [f"{DISTRIBUTION}=={bench_version()}"]


# --- Parsing a suite's environments: block --------------------------------------------------

Place = Callable[..., str]
"""A key path's place in a message: ``place("environments", "p", "requirements", 0)`` gives
``suite.yaml:4: environments.p.requirements[0]`` (a suite's ``at``; :func:`places` for a plain
file name)."""


def places(where: str) -> Place:
    """The places of key paths in a file known only by name: ``where: a.b[0]``."""
    def place(*path: Any) -> str:
        dotted = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
        return f"{where}: {dotted}" if where else dotted
    return place


def parse_environments(data: Mapping[str, Any], where: str | Place,
                       problems: list[BenchError] | None = None) -> dict[str, EnvironmentSpec]:
    """The ``environments:`` block of a suite (``data`` is the whole suite mapping) as specs by
    name; ``{}`` without one. Every problem is one line naming the key (with its line when
    ``where`` is a suite's ``at``), what was expected and what was found; all of them are raised
    at once, or added to ``problems`` when it is given (the sound entries are then returned)."""
    place = places(where) if isinstance(where, str) else where
    block = data.get("environments")
    if block is None:
        return {}
    found: dict[str, EnvironmentSpec] = {}
    wrong: list[BenchError] = []
    if not isinstance(block, Mapping):
        wrong.append(BenchError(f"expected a mapping of names to {{requirements: [...]}}, found "
                                f"{excerpt(block)}", place("environments")))
    else:
        for name, entry in block.items():
            try:
                found[str(name)] = _parse_entry(name, entry, place)
            except BenchError as problem:
                wrong.append(problem)
    if problems is None:
        raise_all(wrong)
    else:
        problems.extend(wrong)
    return found


def _parse_entry(name: Any, entry: Any, place: Place) -> EnvironmentSpec:
    if not isinstance(name, str) or not NAME.match(name):
        raise BenchError(f"expected a name of letters, digits, '.', '_' or '-', found {excerpt(name)}",
                         place("environments", name))
    if not isinstance(entry, Mapping):
        raise BenchError(f"expected a mapping {{requirements: [...], python: '3.x'}}, found {excerpt(entry)}",
                         place("environments", name))
    for unknown in (k for k in entry if k not in ENV_KEYS):
        hint = did_you_mean(str(unknown), ENV_KEYS)
        raise BenchError(f"unknown key {unknown!r}, expected one of {', '.join(ENV_KEYS)}"
                         f"{'; ' + hint if hint else ''}", place("environments", name))
    if "requirements" not in entry:
        raise BenchError("expected a list of pip requirements, found nothing",
                         place("environments", name, "requirements"))
    return EnvironmentSpec(name, _requirements(entry["requirements"], name, place),
                           _python(entry.get("python"), name, place))


def _requirements(value: Any, name: str, place: Place) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise BenchError(f"expected a non-empty list of pip requirements, found {excerpt(value)}",
                         place("environments", name, "requirements"))
    for i, requirement in enumerate(value):
        if not isinstance(requirement, str) or not requirement.strip() or "\n" in requirement:
            raise BenchError(f"expected a requirement such as 'pandas>=2.2,<3', found {excerpt(requirement)}",
                             place("environments", name, "requirements", i))
        if requirement.strip().startswith("-"):
            raise BenchError(f"expected a requirement, not a pip option, found {excerpt(requirement)}",
                             place("environments", name, "requirements", i))
    return tuple(r.strip() for r in value)


def _python(value: Any, name: str, place: Place) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise BenchError(f"expected a version in quotes such as '3.11' (YAML reads 3.10 as the number 3.1), "
                         f"found {value!r}", place("environments", name, "python"))
    if not isinstance(value, str) or not PYTHON_VERSION.match(value.strip()):
        raise BenchError(f"expected a version such as '3.11', found {excerpt(value)}",
                         place("environments", name, "python"))
    return value.strip()


def model_environment(entry: Mapping[str, Any], environments: Mapping[str, EnvironmentSpec | None],
                      where: str) -> EnvironmentSpec | None:
    """The environment a model line names with ``env:`` (``None`` without one, or when the suite
    declares that name with a broken entry: reported there), or one line saying which names the
    suite declares (``where`` is the place of the ``env`` key)."""
    name = entry.get("env")
    if name is None:
        return None
    if not isinstance(name, str) or name not in environments:
        declared = ", ".join(sorted(environments)) or "none declared"
        hint = did_you_mean(str(name), environments) if isinstance(name, str) else ""
        raise BenchError(f"expected the name of an environment of this suite ({declared}), "
                         f"found {excerpt(name)}{'; ' + hint if hint else ''}", where)
    return environments[name]


# --- A built environment --------------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    """A built environment: where it is, what it was built from, what it holds."""

    spec: EnvironmentSpec
    hash: str
    path: Path
    created: str = ""
    build_seconds: float = 0.0
    python_version: str = ""
    names: tuple[str, ...] = ()
    site: tuple[str, ...] = ()
    """The environment's interpreter's own ``sys.path`` (read when it was built)."""
    installed: Mapping[str, str] = field(default_factory=dict)

    @property
    def python(self) -> Path:
        """The environment's interpreter (a worker runs ``python -m benchmark.worker`` with it)."""
        return self.path / "bin" / "python"

    def versions(self) -> dict[str, str]:
        """Every distribution installed there and its version (read once when it was built;
        asked of the interpreter again if the record lacks them)."""
        if self.installed:
            return dict(self.installed)
        return dict(_probe(self.python, os.environ)["versions"])

    def provenance(self) -> dict[str, Any]:
        """What a cell's row records about the environment it ran in: its name and hash, the
        Python version, and the versions of its requirements and of bench's core libraries."""
        installed = self.versions()
        wanted = [requirement_name(r) for r in (*self.spec.requirements, *core_requirements())]
        return {"name": self.spec.name, "hash": self.hash, "python": self.python_version,
                "requirements": list(self.spec.requirements),
                "versions": {n: installed[n] for n in dict.fromkeys(wanted) if n in installed}}

    def library_versions(self, requires: Mapping[str, str]) -> dict[str, str]:
        """What the planner records as a cell's ``code["libraries"]`` (as
        ``benchmark._internal.versions`` does in the driver) for a model whose ``requires`` maps
        modules to distributions: the versions installed *here*, not in the driver."""
        installed = self.versions()
        return {distribution: installed[requirement_name(distribution)]
                for distribution in requires.values() if requirement_name(distribution) in installed}

    def worker_command(self, fd: int, capture: str, threads: int, verbose: bool = False) -> list[str]:
        """The spawned worker's command line: as the engine's own, with this interpreter."""
        return [str(self.python), "-m", WORKER_MODULE, str(fd), capture or "-", str(threads)] + \
            (["--verbose"] if verbose else [])

    def worker_variables(self, base: Mapping[str, str]) -> dict[str, str]:
        """The worker's environment variables: ``base`` (the engine's, with its thread counts and
        ``$BENCH_SHARED_DATA``) without those that would make this interpreter see the driver's
        packages; ``BENCH_ENVIRONMENT`` names the environment."""
        variables = {k: v for k, v in base.items() if k not in LEAKING_VARIABLES}
        variables["BENCH_ENVIRONMENT"] = f"{self.spec.name}:{self.hash}"
        return variables

    def worker_sys_path(self, driver: Sequence[str]) -> list[str]:
        """What the engine sends in the worker's ``setup`` message (the worker replaces its
        ``sys.path`` with it): this interpreter's own path, then the driver's entries that are
        neither its standard library nor its site-packages (a suite's folder, the checkout)."""
        own = list(self.site)
        ignored = {str(Path(p)) for p in _driver_prefixes()}
        extra = [p for p in driver if p and p not in own and not any(
            str(Path(p)).startswith(prefix) for prefix in ignored) and "site-packages" not in p]
        return own + extra

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "spec": self.spec.to_dict(), "hash": self.hash,
                "created": self.created, "build_seconds": self.build_seconds,
                "python": self.python_version, "names": list(self.names), "sys_path": list(self.site),
                "versions": dict(self.installed), "identity": self.spec.identity()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path) -> Environment:
        return cls(EnvironmentSpec.from_dict(data["spec"]), str(data["hash"]), path,
                   str(data.get("created", "")), float(data.get("build_seconds", 0.0)),
                   str(data.get("python", "")), tuple(data.get("names") or ()),
                   tuple(data.get("sys_path") or ()), dict(data.get("versions") or {}))


def requirement_name(requirement: str) -> str:
    """The distribution a requirement names, normalised as pip lists it ("Scikit_Learn>=1" ->
    "scikit-learn")."""
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[._]+", "-", found.group(1)).lower() if found else requirement


def _driver_prefixes() -> list[str]:
    return sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})


# --- Building -------------------------------------------------------------------------------


def environments_root(root: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/envs``, the cache by default (``$BENCH_CACHE_DIR`` or ``~/.cache/bench``)."""
    return Path(root if root is not None else cache_dir()) / "envs"


def build(spec: EnvironmentSpec, root: str | os.PathLike[str] | None = None,
          log: Callable[[str], None] | None = None) -> Environment:
    """The environment of ``spec``, built under ``<root>/envs/<hash>`` unless it is there.

    Waits while another process builds the same hash, then reuses its result. ``log`` receives
    a line when a build starts and when it ends (nothing when the environment exists)."""
    directory = environments_root(root)
    final = directory / spec.hash
    found = load(final)
    if found is not None:
        return _remember_name(found, spec.name)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / ".locks" / f"{spec.hash}.lock"):
        found = load(final)  # built by the process we waited for
        if found is not None:
            return _remember_name(found, spec.name)
        for stale in directory.glob(f".tmp-{spec.hash}-*"):  # a build killed half-way
            shutil.rmtree(stale, ignore_errors=True)
        if final.exists():  # a directory without its record is not an environment
            shutil.rmtree(final, ignore_errors=True)
        if log:
            log(f"building environment {spec.name!r} ({spec.hash}): {' '.join(spec.requirements)}")
        built = _build_into(spec, directory, final)
        if log:
            log(f"built environment {spec.name!r} ({spec.hash}) in {built.build_seconds:.1f}s")
        return built


def _build_into(spec: EnvironmentSpec, directory: Path, final: Path) -> Environment:
    started = time.monotonic()
    temporary = directory / f".tmp-{spec.hash}-{secrets.token_hex(4)}"
    failed_log = directory / f"{spec.hash}-failed.log"
    transcript: list[str] = []
    try:
        python = temporary / "bin" / "python"
        _step(spec, "python -m venv", [interpreter(spec), "-m", "venv", str(temporary)], transcript)
        _step(spec, "pip install", [str(python), "-m", "pip", "install", "--no-input",
                                     "--disable-pip-version-check", *spec.requirements,
                                     *bench_install_arguments()], transcript)
        probe = _probe(python, os.environ, spec, transcript)
        environment = Environment(spec, spec.hash, final, _now(), round(time.monotonic() - started, 1),
                                  str(probe["python"]), (spec.name,),
                                  tuple(p.replace(str(temporary), str(final)) for p in probe["sys_path"]),
                                  dict(probe["versions"]))
        (temporary / "build.log").write_text("\n".join(transcript), encoding="utf-8")
        _relocate(temporary, final)
        _write_record(temporary, environment)
        os.rename(temporary, final)
    except BaseException as failure:
        shutil.rmtree(temporary, ignore_errors=True)
        if isinstance(failure, BenchError):
            failed_log.write_text("\n".join(transcript), encoding="utf-8")
        raise
    failed_log.unlink(missing_ok=True)
    return environment


def interpreter(spec: EnvironmentSpec) -> str:
    """The Python that creates the environment: this one, or ``python3.X`` from ``PATH``."""
    current = "%d.%d" % sys.version_info[:2]
    if spec.python is None or spec.python == current:
        return getattr(sys, "_base_executable", None) or sys.executable
    found = shutil.which(f"python{spec.python}")
    if not found:
        raise BenchError(f"environment {spec.name!r}: python{spec.python} is not on PATH "
                         f"(this bench runs Python {current})")
    return found


def _clean_variables(base: Mapping[str, str]) -> dict[str, str]:
    variables = {k: v for k, v in base.items() if k not in LEAKING_VARIABLES}
    variables.update(PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
    return variables


def _step(spec: EnvironmentSpec, what: str, command: list[str], transcript: list[str]) -> str:
    """Run one build step; its output joins the transcript; a failure is one BenchError line."""
    transcript.append("$ " + " ".join(command))
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              env=_clean_variables(os.environ), stdin=subprocess.DEVNULL)
    except OSError as error:
        raise BenchError(f"environment {spec.name!r}: {what} could not start: {error}") from None
    transcript.extend([done.stdout, done.stderr, f"({what}: {time.monotonic() - started:.1f}s)"])
    if done.returncode != 0:
        raise BenchError(f"environment {spec.name!r}: {what} failed: "
                         f"{meaningful_line(done.stderr + chr(10) + done.stdout)}")
    return done.stdout


def meaningful_line(output: str) -> str:
    """pip's (or Python's) last line that says what went wrong: the last ``ERROR:`` line that is
    not a pointer to pip's documentation, else the last line that is not a warning or a note."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    noise = ("WARNING:", "note:", "hint:", "[notice]", "DEPRECATION:")
    errors = [line for line in lines if line.startswith("ERROR:")
              and "for help visit" not in line and "ResolutionImpossible" not in line]
    if errors:
        return errors[-1].removeprefix("ERROR:").strip()
    rest = [line for line in lines if not line.startswith(noise)]
    return rest[-1] if rest else "no output"


def _probe(python: Path, base: Mapping[str, str], spec: EnvironmentSpec | None = None,
           transcript: list[str] | None = None) -> dict[str, Any]:
    """Import bench's worker side with ``python``; its version, installed distributions and
    ``sys.path``. The environment is refused when bench does not import there."""
    label = spec.name if spec else str(python)
    done = subprocess.run([str(python), "-I", "-c", PROBE], capture_output=True, text=True,
                          errors="replace", env=_clean_variables(base), stdin=subprocess.DEVNULL,
                          cwd=str(python.parent))
    if transcript is not None:
        transcript.extend(["$ python -c <probe>", done.stderr])
    if done.returncode != 0:
        raise BenchError(f"environment {label!r}: bench's worker side does not import there: "
                         f"{meaningful_line(done.stderr)}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _relocate(temporary: Path, final: Path) -> None:
    """Scripts and ``pyvenv.cfg`` name the temporary directory: point them at the final one."""
    old, new = str(temporary).encode(), str(final).encode()
    candidates = [p for p in (temporary / "bin").iterdir() if p.is_file() and not p.is_symlink()]
    for path in [*candidates, temporary / "pyvenv.cfg"]:
        try:
            content = path.read_bytes()
        except OSError:
            continue
        if old in content and b"\0" not in content[:1024]:
            path.write_bytes(content.replace(old, new))


def _write_record(directory: Path, environment: Environment) -> None:
    staged = directory / f".{METADATA}.{secrets.token_hex(4)}"
    staged.write_text(json.dumps(environment.to_dict(), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(staged, directory / METADATA)


def _remember_name(environment: Environment, name: str) -> Environment:
    """Another suite's name for the same environment joins its record (for list and remove)."""
    if name in environment.names:
        return environment
    with _locked(environment.path.parent / ".locks" / f"{environment.hash}.lock"):
        current = load(environment.path) or environment
        updated = dataclasses.replace(current, names=(*current.names, name))
        _write_record(environment.path, updated)
    return updated


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, waited for (another process builds that hash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(LOCK_POLL)
        yield
    finally:
        os.close(fd)  # releases the lock


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


# --- Listing and removing -------------------------------------------------------------------


def load(path: Path) -> Environment | None:
    """The environment at ``path``, or ``None`` when there is none (or only a broken record)."""
    try:
        data = json.loads((path / METADATA).read_text(encoding="utf-8"))
        return Environment.from_dict(data, path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def list_environments(root: str | os.PathLike[str] | None = None) -> list[Environment]:
    """Every built environment under ``<root>/envs``, oldest first."""
    directory = environments_root(root)
    if not directory.is_dir():
        return []
    found = [env for path in directory.iterdir()
             if not path.name.startswith(".") and path.is_dir() and (env := load(path)) is not None]
    return sorted(found, key=lambda env: (env.created, env.hash))


def find(name_or_hash: str, root: str | os.PathLike[str] | None = None) -> list[Environment]:
    """The environments a name (any suite's name for it) or a hash prefix (6+ characters) means."""
    every = list_environments(root)
    by_name = [env for env in every if name_or_hash in env.names or name_or_hash == env.spec.name]
    if by_name:
        return by_name
    if len(name_or_hash) >= 6:
        return [env for env in every if env.hash.startswith(name_or_hash)]
    return []


def remove(name_or_hash: str, root: str | os.PathLike[str] | None = None) -> list[Environment]:
    """Remove the environments :func:`find` gives (each under its lock, renamed away first so
    that no reader sees half of one); the removed ones. Nothing found is one line."""
    found = find(name_or_hash, root)
    if not found:
        known = ", ".join(sorted({n for env in list_environments(root) for n in env.names})) or "none"
        raise BenchError(f"no environment named {name_or_hash!r} or with that hash (built: {known})")
    for env in found:
        with _locked(env.path.parent / ".locks" / f"{env.hash}.lock"):
            doomed = env.path.parent / f".removed-{env.hash}-{secrets.token_hex(4)}"
            os.rename(env.path, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
    return found
