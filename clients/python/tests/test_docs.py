"""docs/test-helpers.md shows the example that runs (examples/test_example.py) as it is."""

import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "examples", "test_example.py")
DOC = os.path.join(HERE, "..", "..", "..", "docs", "test-helpers.md")


@pytest.mark.skipif(not os.path.isfile(DOC), reason="not in the redpack-sim source tree")
def test_docs_show_the_example_that_runs():
    with open(EXAMPLE, encoding="utf-8") as f:
        example = f.read()
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    assert "```python\n" + example + "```" in doc, \
        "docs/test-helpers.md: the Python example differs from clients/python/examples/test_example.py"
