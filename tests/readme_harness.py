"""Run the examples of Markdown documents as written and compare the output they show.

The convention (for ``README.md`` and ``docs/*.md``):

* A fenced block tagged ``sh``, ``bash`` or ``shell`` runs as one bash script
  (``set -euo pipefail``); one tagged ``python`` or ``py`` runs as a Python
  script. The blocks of a document run in order, in one scratch directory that
  links every top-level entry of the checkout (so ``bench/...``,
  ``examples/...`` work and files the examples write stay out of the checkout).
  ``rxunix``, ``python`` and ``python3`` are the interpreter running the tests,
  with this checkout's rxunix. A block must exit with status 0.
* HTML comments right before a fence (blank lines allowed) change that:
  ``<!-- not run: REASON -->`` (the block is not run; an output block after it is
  not compared), ``<!-- exit status: N -->`` (the block must exit with N),
  ``<!-- output of: COMMAND -->`` (before an output block: COMMAND is run in
  bash and its output compared with the block; ``not run`` before an output
  block: it is not compared).
* An output block is an untagged (or ``text`` / ``output``) fence that follows
  a runnable block with no heading in between, or carries ``output of:``.
  Untagged fences elsewhere (diagrams) are left alone, as are other tags
  (``json``, ``toml``, ``console``...).
* Comparison: the shown lines against stdout followed by stderr, blank lines
  ignored. Tolerant: ``...`` inside a line matches any text, a line that is just
  ``...`` matches any number of lines, the random part of a temporary path
  (``/tmp/NAME``) and durations (``0.02s``, ``3 ms``, ``138 µs``) match any.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

SHELL_TAGS = {"sh", "bash", "shell"}
PYTHON_TAGS = {"python", "py"}
OUTPUT_TAGS = {"", "text", "output"}
TIMEOUT = 120.0
#: top-level entries of the checkout the scratch directory does not link (examples write the logs)
NOT_LINKED = {".git", ".tox", ".venv", ".shims", "server_out.log", "client_out.log"}

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
_COMMENT = re.compile(r"^\s*<!--\s*(.*?)\s*-->\s*$")
_TMP = re.compile(r"(?<![\w.])/tmp/[^/\s'\"]+")
_DURATION = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:s|ms|µs|us|min)\b")


@dataclass
class Block:
    """One fenced block: its tag, text, first line number and the markers before it."""

    path: str
    line: int
    tag: str
    text: str
    markers: dict[str, str] = field(default_factory=dict)
    heading_before: bool = False  # a heading between the previous fence and this one
    output: Block | None = None  # the output block shown after a runnable block
    command: str | None = None  # for an output block with "output of:"

    @property
    def where(self) -> str:
        return f"{os.path.basename(self.path)}:{self.line}"

    @property
    def runnable(self) -> bool:
        return self.tag in SHELL_TAGS | PYTHON_TAGS and "not run" not in self.markers


def _marker(line: str) -> tuple[str, str] | None:
    m = _COMMENT.match(line)
    if m is None:
        return None
    key, sep, value = m.group(1).partition(":")
    return (key.strip().lower(), value.strip()) if sep else None


def parse(path: str, text: str, fallback: Mapping[str, dict[str, str]] | None = None) -> list[Block]:
    """The fenced blocks of a document, with markers and outputs attached.

    ``fallback`` maps the first line of a block to markers it gets when it has none
    of its own (for documents not yet marked up).
    """
    blocks: list[Block] = []
    lines = text.splitlines()
    markers: dict[str, str] = {}
    heading = False
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence is None:
            found = _marker(line)
            if found is not None:
                markers[found[0]] = found[1]
            elif line.strip():  # prose between a marker and a fence cancels the marker
                markers = {}
                heading = heading or line.startswith("#")
            i += 1
            continue
        close = fence.group(1)
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(close)), len(lines))
        body = "\n".join(lines[i + 1:end]) + "\n"
        first = body.strip().splitlines()[0] if body.strip() else ""
        own = markers or dict((fallback or {}).get(first, {}))
        blocks.append(Block(path, i + 1, fence.group(2).lower(), body, own, heading))
        markers, heading = {}, False
        i = end + 1
    _attach_outputs(blocks)
    return blocks


def _attach_outputs(blocks: list[Block]) -> None:
    previous: Block | None = None
    for block in blocks:
        if block.tag in OUTPUT_TAGS and "not run" not in block.markers:
            if "output of" in block.markers:
                block.command = block.markers["output of"]
            elif previous is not None and previous.tag in SHELL_TAGS | PYTHON_TAGS and not block.heading_before:
                previous.output = block
        previous = block


# ---- running ----------------------------------------------------------------------------
@dataclass
class Result:
    status: int
    stdout: str
    stderr: str


def scratch_dir(root: str) -> str:
    """A temporary directory linking every top-level entry of ``root``, with a ``bin/`` of shims."""
    work = tempfile.mkdtemp(prefix="rxreadme-")
    for name in os.listdir(root):
        if name not in NOT_LINKED:
            os.symlink(os.path.join(root, name), os.path.join(work, name))
    shims = os.path.join(work, ".shims")
    os.mkdir(shims)
    for name, args in {"python": "", "python3": "", "rxunix": " -m rxunix"}.items():
        with open(os.path.join(shims, name), "w") as f:
            f.write(f'#!/bin/sh\nexec "{sys.executable}"{args} "$@"\n')
        os.chmod(os.path.join(shims, name), 0o755)
    return work


def run(argv: list[str], work: str, root: str, timeout: float = TIMEOUT) -> Result:
    """Run ``argv`` in ``work`` with the shims first on PATH; kill its process group on timeout."""
    env = dict(os.environ, PATH=os.path.join(work, ".shims") + os.pathsep + os.environ.get("PATH", ""),
               PYTHONPATH=root, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return Result(-1, out, err + f"\n[timed out after {timeout}s]")
    return Result(proc.returncode, out, err)


def run_block(block: Block, work: str, root: str) -> Result:
    """Run a shell or Python block (``set -euo pipefail`` for shell)."""
    if block.tag in PYTHON_TAGS:
        script = os.path.join(work, f".block_{block.line}.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(block.text)
        return run([sys.executable, script], work, root)
    return run(["bash", "-c", "set -euo pipefail\n" + block.text], work, root)


# ---- comparing ----------------------------------------------------------------------------
def _line_pattern(shown: str) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(\.\.\.)", normalize(shown)):
        parts.append(".*" if piece == "..." else re.escape(piece))
    return re.compile("".join(parts) + r"\Z")


def normalize(line: str) -> str:
    """Temporary paths' random part and durations replaced by placeholders; no trailing space."""
    return _DURATION.sub("<T>", _TMP.sub("/tmp/<TMP>", line)).rstrip()


def compare(shown: str, actual: str) -> str | None:
    """``None`` if ``actual`` matches what is ``shown`` (see the module docstring), else why not."""
    want = [w for w in shown.splitlines() if w.strip()]
    got = [normalize(g) for g in actual.splitlines() if g.strip()]
    patterns = [None if w.strip() == "..." else _line_pattern(w) for w in want]

    def match(i: int, j: int) -> bool:
        if i == len(patterns):
            return j == len(got)
        pat = patterns[i]
        if pat is None:
            return any(match(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and pat.match(got[j]) is not None and match(i + 1, j + 1)

    if match(0, 0):
        return None
    return _first_difference(want, patterns, got)


def _first_difference(want: list[str], patterns: list[re.Pattern[str] | None], got: list[str]) -> str:
    """The first shown line that the output does not have where it is shown (greedy, for messages)."""
    j, skipping = 0, False
    for k, pat in enumerate(patterns):
        if pat is None:
            skipping = True
            continue
        found = next((m for m in range(j, len(got) if skipping else min(j + 1, len(got)))
                      if pat.match(got[m])), None)
        if found is None:
            actual = got[j] if j < len(got) else "(no more lines)"
            return f"shown line {k + 1} not produced:\n  shown:  {want[k]}\n  actual: {actual}"
        j, skipping = found + 1, False
    return f"{len(got) - j} more lines produced than shown:\n" + "\n".join(got[j:])


def check_document(path: str, root: str, fallback: Mapping[str, dict[str, str]] | None = None) -> Iterator[str]:
    """Run every example of the document at ``path``; yield one message per failure."""
    with open(path, encoding="utf-8") as f:
        blocks = parse(path, f.read(), fallback)
    work = scratch_dir(root)
    try:
        for block in blocks:
            yield from _check_block(block, work, root)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_block(block: Block, work: str, root: str) -> Iterator[str]:
    if block.command is not None and "not run" not in block.markers:
        result = run(["bash", "-c", "set -euo pipefail\n" + block.command], work, root)
        shown_by, expected = f"output block at {block.where} ({block.command})", 0
    elif block.runnable:
        result = run_block(block, work, root)
        shown_by, expected = f"{block.tag} block at {block.where}", int(block.markers.get("exit status", "0"))
    else:
        return
    if result.status != expected:
        yield (f"{shown_by}: exit status {result.status}, expected {expected}\n"
               f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return
    shown = block if block.command is not None else block.output
    if shown is not None:
        why = compare(shown.text, result.stdout + "\n" + result.stderr)
        if why is not None:
            yield f"{shown_by}: output differs from the block at {shown.where}: {why}"
