"""A from-scratch NumPy backpropagation library for MNIST digits."""
from .mnist import Dataset, MnistError, load_mnist
from .modelfile import ModelFileError
from .network import Net
from .training import FitResult, Progress

__all__ = ["Dataset", "FitResult", "MnistError", "ModelFileError", "Net", "Progress", "load_mnist"]
