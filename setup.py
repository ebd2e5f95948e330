"""The C part of the package: the XES scanner (`pipelines._xesscan`). Metadata: pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("pipelines._xesscan", ["pipelines/_xesscan.c"])])
