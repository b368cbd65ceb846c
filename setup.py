"""Builds the Cython kernels in native/ when Cython and a compiler are there; the pure core works without them."""
import os
from pathlib import Path

from setuptools import setup

ext_modules = []
if os.environ.get("MEMBERKIOSK_SKIP_NATIVE") != "1":
    sources = sorted(str(p) for p in Path("native").glob("*.pyx"))
    if sources:
        from Cython.Build import cythonize

        ext_modules = cythonize(sources, language_level=3, compiler_directives={"boundscheck": False, "wraparound": False})

setup(ext_modules=ext_modules)
