"""nox sessions: tests, demo, docs, bench, lint, fuzz.

Every session installs the CPU build of ``torch==2.13.0`` *first*, then the project, so
that no step resolves an unpinned torch to a multi-GB CUDA build.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

PYTHON = False if shutil.which("python3.11") is None else "3.11"
TORCH = "torch==2.13.0"
ROOT = Path(__file__).parent


def _install(session: nox.Session, extras: str = "dev") -> None:
    session.install(TORCH)
    session.install("-e", f".[{extras}]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite: unit, property (hypothesis), doctests and executed tutorials."""
    _install(session)
    args = session.posargs or ["-n", "2", "--dist", "loadgroup", "-q"]
    session.run("python", "-m", "pytest", *args, env={"CI": "1", "MPLBACKEND": "Agg"})


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: ``rawkit demo`` on the bundled data; writes ./rawkit-demo/."""
    _install(session)
    session.run("rawkit", "demo", "--overwrite", *session.posargs, env={"MPLBACKEND": "Agg"})


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the Jupyter Book (executing every tutorial) into docs/_build/html."""
    _install(session, "dev,docs")
    staged = ROOT / "docs" / "tutorials"
    if staged.exists():
        shutil.rmtree(staged)
    shutil.copytree(ROOT / "tutorials", staged)
    # The notebooks' kernels inherit this environment: they must draw with the inline
    # backend (figures embedded in the pages), never Agg (figures silently dropped).
    session.run(
        "jupyter-book",
        "build",
        "docs",
        "--warningiserror",
        "--keep-going",
        env={"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Speed benchmarks: ratios to peers timed in the same run (writes bench-out/speed.json)."""
    _install(session)
    args = session.posargs or ["speed", "--json", "bench-out/speed.json", "--overwrite"]
    session.run("rawkit", "bench", *args)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy."""
    _install(session)
    session.run("ruff", "check", "rawkit", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "rawkit", "tests", "noxfile.py")
    session.run("mypy", "rawkit")


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """Coverage-guided fuzzing (atheris) of every file reader: 1e5 inputs each by default.

    ``nox -s fuzz -- raw -runs=1000`` fuzzes one reader with any libFuzzer flags.
    """
    _install(session)
    session.install("atheris")
    targets = ["raw", "npy", "image", "photo", "bank", "ckpt", "meta"]
    if session.posargs:
        targets, flags = [session.posargs[0]], list(session.posargs[1:])
    else:
        flags = ["-runs=100000"]
    for target in targets:
        session.run(
            "python",
            "tests/io/_fuzz_readers.py",
            target,
            "-timeout=30",
            "-rss_limit_mb=4096",
            *flags,
        )
