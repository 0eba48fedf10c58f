"""The examples in the public docstrings run and print what they show."""

import doctest
import importlib
import warnings

import pytest

MODULES = [
    "fastmade._estimator",
    "fastmade._outlier",
    "fastmade._model_files",
    "fastmade.datasets",
    "fastmade._staircase",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
