"""fastmade: MADE density estimation for scikit-learn."""

from ._estimator import MADEEstimator

__version__ = "0.1.0"
__all__ = ["MADEEstimator", "__version__"]
