"""The top-level README's "From Python" snippet runs as written."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"
PY_README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def snippet(path: pathlib.Path, marker: str) -> str:
    text = path.read_text()
    assert marker in text
    block = re.search(r"```python\n(.*?)```", text[text.index(marker):], re.S)
    assert block is not None
    return block.group(1)


def test_readme_python_snippet_runs() -> None:
    text = README.read_text()
    marker = "<!-- snippet: run by bindings/python/tests/test_readme.py -->"
    assert marker in text
    block = re.search(r"```python\n(.*?)```", text[text.index(marker):], re.S)
    assert block is not None
    exec(compile(block.group(1), str(README), "exec"), {})


def test_readme_dask_example_runs() -> None:
    text = README.read_text()
    marker = "<!-- snippet: the Dask example, run by bindings/python/tests/test_readme.py -->"
    assert marker in text
    block = re.search(r"```python\n(.*?)```", text[text.index(marker):], re.S)
    assert block is not None
    exec(compile(block.group(1), str(README), "exec"), {"__name__": "__main__"})


def test_readme_replicas_example_runs() -> None:
    marker = "<!-- snippet: replicas, run by bindings/python/tests/test_readme.py -->"
    exec(compile(snippet(README, marker), str(README), "exec"), {})


def test_python_readme_replicas_example_runs() -> None:
    marker = "<!-- snippet: replicas, run by tests/test_readme.py -->"
    exec(compile(snippet(PY_README, marker), str(PY_README), "exec"), {})
