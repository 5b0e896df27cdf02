"""Every shell and Python example of README.md and docs/*.md runs as written and prints what it shows.

The convention (which blocks run, markers, tolerant comparison) is in ``tests/readme_harness.py``.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

import pytest

from .readme_harness import Block, check_document, compare, parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCUMENTS = [os.path.join(ROOT, "README.md"), *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))]


@pytest.mark.parametrize("path", DOCUMENTS, ids=[os.path.relpath(p, ROOT) for p in DOCUMENTS])
def test_document_examples_run_as_written(path: str) -> None:
    failures = list(check_document(path, ROOT))
    assert not failures, "\n\n".join(failures)


def test_the_readme_has_examples_that_run() -> None:
    with open(DOCUMENTS[0], encoding="utf-8") as f:
        blocks = parse(DOCUMENTS[0], f.read())
    assert any(b.runnable for b in blocks)
    assert any(b.command or (b.runnable and b.output) for b in blocks)  # some output is compared


# ---- the harness itself ---------------------------------------------------------------------
DOC = """# Title

```sh
echo hello; echo "$(pwd)" >/dev/null
```

Some prose.

```
hello
```

<!-- not run: would fail -->
```sh
exit 3
```

## Diagram

```
a -> b
```

<!-- exit status: 2 -->

```python
import sys
print("from python", sys.argv[0].endswith(".py"))
sys.exit(2)
```

```text
from python True
```

<!-- output of: echo /tmp/rx-abc123/s.sock; echo took 0.25s >&2 -->
```
/tmp/rxunix-zz9/s.sock
took 3 ms
```
"""


def test_parse_markers_outputs_and_headings() -> None:
    blocks = parse("doc.md", DOC)
    sh, out, not_run, diagram, py, py_out, output_of = blocks
    assert (sh.tag, sh.line, sh.output) == ("sh", 3, out)
    assert not_run.markers == {"not run": "would fail"} and not not_run.runnable
    assert diagram.heading_before and not any(b.output is diagram for b in blocks)
    assert py.markers == {"exit status": "2"} and py.output is py_out
    assert output_of.command == "echo /tmp/rx-abc123/s.sock; echo took 0.25s >&2"


def test_an_output_block_marked_not_run_is_not_compared() -> None:
    blocks = parse("doc.md", "```sh\necho 1\n```\n<!-- not run: varies -->\n```\n2\n```\n")
    assert blocks[0].output is None


def test_fallback_markers_apply_only_to_unmarked_blocks() -> None:
    blocks = parse("doc.md", DOC, {"exit 3": {"exit status": "3"}, "hello": {"not run": "x"}})
    assert blocks[2].markers == {"not run": "would fail"}  # its own marker wins
    assert blocks[0].runnable


@pytest.mark.parametrize(("shown", "actual", "ok"), [
    ("a\nb\n", "a\n\nb\n", True),
    ("a\n", "a\nb\n", False),
    ("a\n...\nd\n", "a\nb\nc\nd\n", True),
    ("peer '/tmp/rx-.../s.sock'\n", "peer '/tmp/rx-q1w2/s.sock'\n", True),
    ("server on /tmp/rxunix-_o56/u.sock; elapsed 0.02s\n", "server on /tmp/rxunix-k9/u.sock; elapsed 1.5s\n", True),
    ("server on /tmp/rxunix-_o56/u.sock\n", "server on /tmp/rxunix-k9/other.sock\n", False),
    ("sent 10, received 10\n", "sent 10, received 9\n", False),
    ("x\n...\n", "x\n", True),
])
def test_tolerant_comparison(shown: str, actual: str, ok: bool) -> None:
    assert (compare(shown, actual) is None) == ok


def test_a_document_is_run_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text(DOC)
    assert list(check_document(str(good), ROOT)) == []
    bad = tmp_path / "bad.md"
    bad.write_text(DOC.replace("hello\n```", "goodbye\n```").replace("exit status: 2", "exit status: 0"))
    failures = list(check_document(str(bad), ROOT))
    assert len(failures) == 2
    assert failures[0].startswith("sh block at bad.md:3: output differs from the block at bad.md:9")
    assert failures[1].startswith("python block at bad.md:26: exit status 2, expected 0")


def test_examples_run_outside_the_checkout_with_its_rxunix(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```sh\nrxunix --version >/dev/null\n"
                   "python3 -c 'import os, rxunix; print(os.path.realpath(rxunix.__file__))'\n"
                   "touch made-by-the-example; test -f bench/stress_report.py\n```\n\n```\n"
                   f"{ROOT}/rxunix/__init__.py\n```\n")
    assert list(check_document(str(doc), ROOT)) == []
    assert not os.path.exists(os.path.join(ROOT, "made-by-the-example"))
    assert isinstance(parse(str(doc), doc.read_text())[0], Block)


def _listed(readme: str, label: str) -> set[str]:
    """The backticked names of the README bullet ``* {label}: ...``, options in parentheses left out."""
    m = re.search(rf"^\* {label}: (.*?)(?=^\* |\n\n)", readme, re.M | re.S)
    assert m, f"README has no '* {label}:' bullet"
    text = m.group(1)
    while re.search(r"\([^()]*\)", text):
        text = re.sub(r"\([^()]*\)", "", text)
    return set(re.findall(r"`([^`]+)`", text))


def test_the_readme_lists_exactly_the_registered_components() -> None:
    from rxunix.core.registry import builtin_names as names  # tests may register more

    with open(DOCUMENTS[0], encoding="utf-8") as f:
        readme = f.read()
    assert _listed(readme, "Preprocessors") == set(names("preprocessor"))
    assert _listed(readme, "Postprocessors") == set(names("postprocessor"))
    assert _listed(readme, "Codecs") == set(names("codec"))
