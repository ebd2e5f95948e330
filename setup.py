"""The C part of the package: the XES scanner (`pipelines._xesscan`). Metadata: pyproject.toml.

Optional: without a C compiler the install goes on and XES is read by rustxes and lxml alone
(slower; `tests/pipelines/test_xes_scan.py` then fails on purpose).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("pipelines._xesscan", ["pipelines/_xesscan.c"], optional=True)])
