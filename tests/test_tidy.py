"""Repository hygiene that no linter checks for us (TigerBeetle's tidy.zig, in Python).

Theory of operation: each test walks the source tree of the four packages (or the deploy
files), parses what it needs with `ast` or `tokenize`, and fails with the full list of
offenders, file and line, so one run shows everything to fix. The checks:

* no FIXME marker in the packages: unfinished work belongs in an issue, not in a comment
  that ships;
* no function longer than `function_lines_max` lines: long functions hide their invariants;
* nothing that deploys or runs Tessera starts Python with `-O` (or PYTHONOPTIMIZE), which
  strips the `assert`s that guard programmer errors;
* every module-level constant of a `limits.py` is `Final` and carries a comment with its
  unit and reason.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parent.parent
PACKAGES: Final = ("tessera", "frontend", "metadata", "datanode")

# lines, decorators and docstring included. The style guide asks for < 60; this is the hard
# ceiling a test enforces (the longest function today is ~45 lines).
function_lines_max: Final = 80

# Spelled in two pieces so this file does not trip other tools that grep for the marker.
UNFINISHED_MARKER: Final = "FIX" + "ME"

# Files and directories that start Python in a deployment: -O there would strip assertions.
DEPLOY_PATHS: Final = ("deploy", "Makefile", ".ci", "docker-compose.yml")
DEPLOY_SKIPPED_DIRS: Final = frozenset({"wheelhouse", "__pycache__", ".git"})
# bytes; deploy files are small text files. Bigger ones (wheels, tarballs) are not scripts.
deploy_file_bytes_max: Final = 1024 * 1024

# (path relative to the root, constant name) of limits.py constants already known to lack a
# comment, reported to their owners; listed so the check protects every other constant today.
# Delete an entry once the constant has its comment.
limits_uncommented_known: Final[frozenset[tuple[str, str]]] = frozenset()


def package_files(pattern: str) -> Iterator[Path]:
    """Files under the packages matching `pattern`; generated protobuf modules excluded."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob(pattern)):
            if "__pycache__" in path.parts or "_pb2" in path.name or not path.is_file():
                continue
            yield path


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --- (a) no unfinished-work markers --------------------------------------------------------


def test_no_fixme_in_packages() -> None:
    offenders = []
    for path in package_files("*"):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary files carry no comments
        for number, line in enumerate(text.splitlines(), start=1):
            if UNFINISHED_MARKER in line:
                offenders.append(f"{relative(path)}:{number}: {line.strip()}")
    assert not offenders, f"{UNFINISHED_MARKER} left in the code (open an issue instead):\n" + "\n".join(offenders)


# --- (b) function length budget ------------------------------------------------------------


def function_lengths(source: str) -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of every function, nested ones too.

    The length runs from the first decorator to the last line of the body.

    >>> list(function_lengths("def f():\\n    return 1\\n"))
    [('f', 1, 2)]
    """

    def visit(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno, *(decorator.lineno for decorator in child.decorator_list)])
                assert child.end_lineno is not None
                yield f"{prefix}{child.name}", child.lineno, child.end_lineno - first + 1
                yield from visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            else:
                yield from visit(child, prefix)

    yield from visit(ast.parse(source), "")


def test_function_length_counts_decorators_and_nested_functions() -> None:
    source = "@decorator\ndef outer():\n    def inner():\n        pass\n    return inner\n"
    assert list(function_lengths(source)) == [("outer", 2, 5), ("outer.inner", 3, 2)]


def test_no_function_longer_than_budget() -> None:
    offenders = []
    for path in package_files("*.py"):
        for name, line, length in function_lengths(path.read_text(encoding="utf-8")):
            if length > function_lines_max:
                offenders.append(f"{relative(path)}:{line}: {name} is {length} lines")
    assert not offenders, (f"functions longer than {function_lines_max} lines (split them):\n"
                           + "\n".join(offenders))


# --- (c) assertions stay on in deployments -------------------------------------------------

_PYTHON_EXECUTABLE = re.compile(r"(?:^|/)python[0-9.]*$|^\$[({]?PYTHON[)}]?$")
_PYTHONOPTIMIZE = re.compile(r"PYTHONOPTIMIZE\s*[=:]\s*[\"']?([^\"'\s]*)")
_OPTIONS_WITH_ARGUMENT = frozenset({"-X", "-W", "--check-hash-based-pycs"})


def _python_runs_optimized(tokens: list[str]) -> bool:
    """True when the options after a python executable (tokens[0]) include -O."""
    options = iter(tokens[1:])
    for token in options:
        if token == "--" or token == "-" or not token.startswith("-") or token in ("-m", "-c"):
            return False
        if token in _OPTIONS_WITH_ARGUMENT:
            next(options, None)  # its argument, e.g. `-X dev`
            continue
        if token.startswith("--"):
            continue
        for letter in token[1:]:  # a cluster of short flags, e.g. -BO
            if letter == "O":
                return True
            if letter in "mcXW":  # the rest of the cluster is this option's argument
                break
    return False


def optimized_python_lines(text: str) -> list[int]:
    """Line numbers that start Python with -O/-OO or set PYTHONOPTIMIZE to a non-zero value.

    Shell lines, Makefile recipes, shebangs and Dockerfile/compose exec forms
    (["python", "-O", ...]) are all read as whitespace-separated tokens.

    >>> optimized_python_lines('python -m pytest\\nCMD ["python3", "-OO", "-m", "frontend"]\\n')
    [2]
    """
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = re.sub(r"[\"',\[\]]", " ", line).split()
        starts = [index for index, token in enumerate(tokens) if _PYTHON_EXECUTABLE.search(token)]
        optimize = _PYTHONOPTIMIZE.search(line)
        if any(_python_runs_optimized(tokens[index:]) for index in starts) or (
            optimize is not None and optimize.group(1) not in ("", "0")
        ):
            found.append(number)
    return found


@pytest.mark.parametrize(("line", "optimized"), [
    ("python -O -m frontend", True),
    ("/usr/bin/env python3.11 -OO server.py", True),
    ("#!/usr/bin/python3 -O", True),
    ("$(BIN)/python -BO -m metadata", True),
    ("exec ${PYTHON} -X dev -O -m datanode", True),
    ('CMD ["python", "-O", "-m", "frontend"]', True),
    ("ENV PYTHONOPTIMIZE=1", True),
    ("    environment: {PYTHONOPTIMIZE: '2'}", True),
    ("$(BIN)/python -m pytest -q -p no:cacheprovider tests", False),
    ("python -m proto.generate --check -O", False),  # -O after -m belongs to the module
    ("python -c 'print(1)' -O", False),
    ("python -W error -X dev script.py", False),
    ("curl -O https://example.com/python", False),
    ("ENV PYTHONOPTIMIZE=0", False),
    ("ENV PYTHONUNBUFFERED=1", False),
])
def test_detects_python_started_with_optimizations(line: str, optimized: bool) -> None:
    assert (optimized_python_lines(line) == [1]) is optimized


def deploy_files() -> Iterator[Path]:
    for name in DEPLOY_PATHS:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for candidate in sorted(path.rglob("*")):
                if candidate.is_file() and not DEPLOY_SKIPPED_DIRS.intersection(candidate.parts):
                    yield candidate


def test_deployments_never_strip_assertions() -> None:
    offenders = []
    for path in deploy_files():
        if path.stat().st_size > deploy_file_bytes_max:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{relative(path)}:{number}" for number in optimized_python_lines(text)]
    assert ROOT.joinpath("Makefile").is_file(), "the Makefile is always checked"
    assert not offenders, "python -O / PYTHONOPTIMIZE strips assertions; remove it:\n" + "\n".join(offenders)


# --- (d) limits are Final and explained ----------------------------------------------------


def _is_final(annotation: ast.expr) -> bool:
    """`Final`, `typing.Final`, `Final[int]` or `typing.Final[int]`."""
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    if isinstance(annotation, ast.Name):
        return annotation.id == "Final"
    return isinstance(annotation, ast.Attribute) and annotation.attr == "Final"


def limits_problems(source: str) -> list[tuple[str, int, str]]:
    """(constant, line, problem) for each module-level assignment that is not Final or has no comment.

    A comment counts when it is on the assignment's own lines, or on a comment-only line
    right above it (the last line of a comment block).

    >>> limits_problems("from typing import Final\\n# bytes: why\\na: Final = 1\\nb: Final = 2  # s\\nc = 3\\n")
    [('c', 5, 'not annotated Final'), ('c', 5, 'no comment')]
    """
    lines = source.splitlines()
    comment_lines = {token.start[0] for token in tokenize.generate_tokens(io.StringIO(source).readline)
                     if token.type == tokenize.COMMENT}
    problems = []
    for statement in ast.parse(source).body:
        targets: list[ast.expr]
        if isinstance(statement, ast.AnnAssign):
            targets, final = [statement.target], _is_final(statement.annotation)
        elif isinstance(statement, ast.Assign):
            targets, final = statement.targets, False
        else:
            continue
        names = [node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)]
        assert statement.end_lineno is not None
        own_lines = range(statement.lineno, statement.end_lineno + 1)
        above = statement.lineno - 1
        commented = any(line in comment_lines for line in own_lines) or (
            above >= 1 and lines[above - 1].lstrip().startswith("#"))
        for name in names:
            if not final:
                problems.append((name, statement.lineno, "not annotated Final"))
            if not commented:
                problems.append((name, statement.lineno, "no comment"))
    return problems


def test_limits_check_sees_a_trailing_comment_on_the_line_above_as_someone_elses() -> None:
    source = "from typing import Final\na: Final = 1  # bytes: why\nb: Final = 2\n"
    assert limits_problems(source) == [("b", 3, "no comment")]


def test_every_limit_is_final_and_commented() -> None:
    limits_files = list(package_files("limits.py"))
    assert limits_files, "every role keeps its bounds in a limits.py"
    offenders = []
    for path in limits_files:
        for name, line, problem in limits_problems(path.read_text(encoding="utf-8")):
            if problem == "no comment" and (relative(path), name) in limits_uncommented_known:
                continue
            offenders.append(f"{relative(path)}:{line}: {name}: {problem}")
    assert not offenders, ("limits.py constants must be `name: Final = value` with a comment giving "
                           "unit and reason:\n" + "\n".join(offenders))
