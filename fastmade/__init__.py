"""fastmade: MADE density estimation for scikit-learn."""

from ._estimator import MADEEstimator
from ._model_files import load, save
from ._outlier import MADEOutlierDetector

__version__ = "0.1.0"
__all__ = ["MADEEstimator", "MADEOutlierDetector", "load", "save", "__version__"]
