"""ConvLab web application: FastAPI routes over the NumPy engine and the ONNX models."""

__version__ = "0.1.0"
