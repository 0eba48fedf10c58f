"""Build the compiled kernels of fastmade.

OpenMP is used when the compiler accepts ``-fopenmp``; otherwise the kernels are
built serial, and ``n_jobs`` then has no effect.
"""

import os
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = {
    "fastmade._cached_sampler": ["csrc/cached_sampler.c"],
    "fastmade._staircase": ["csrc/staircase.c"],
}


def _compiler_has_openmp(compiler):
    """Return whether ``compiler`` compiles and links a tiny OpenMP program."""
    source = "#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(source)
        try:
            objects = compiler.compile(
                [path], output_dir=tmp, extra_postargs=["-fopenmp"]
            )
            compiler.link_executable(
                objects, os.path.join(tmp, "probe"), extra_postargs=["-fopenmp"]
            )
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    """Add optimisation and, where the compiler has it, OpenMP flags."""

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        compile_args = ["/O2"] if msvc else ["-O3", "-ffp-contract=fast"]
        link_args = []
        if msvc:
            compile_args.append("/openmp")
        elif _compiler_has_openmp(self.compiler):
            compile_args.append("-fopenmp")
            link_args.append("-fopenmp")
        else:
            sys.stderr.write("fastmade: no OpenMP in this compiler; building serial\n")

        for ext in self.extensions:
            ext.extra_compile_args = compile_args + ext.extra_compile_args
            ext.extra_link_args = link_args + ext.extra_link_args
        super().build_extensions()


extensions = [
    Extension(
        name,
        sources=[name.replace(".", "/") + ".pyx", *sources],
        include_dirs=[np.get_include(), "csrc"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name, sources in KERNELS.items()
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
    cmdclass={"build_ext": BuildExt},
)
