"""fastmade: MADE density estimation for scikit-learn."""

import os as _os

try:
    from . import _cached_sampler, _staircase  # noqa: F401
except ImportError as _error:  # pragma: no cover - depends on how it was installed
    _here = _os.path.dirname(_os.path.abspath(__file__))
    raise ImportError(
        f"fastmade's compiled kernels are missing from {_here}. This is the "
        "source tree, not the installed package: run Python from another folder "
        "(after `pip install .`), or build the kernels in place with "
        "`python setup.py build_ext --inplace`."
    ) from _error

from ._estimator import MADEEstimator
from ._model_files import load, save
from ._outlier import MADEOutlierDetector

__version__ = "0.1.0"
__all__ = ["MADEEstimator", "MADEOutlierDetector", "load", "save", "__version__"]
