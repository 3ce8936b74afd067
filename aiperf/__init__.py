"""aiperf: benchmark OpenAI-compatible LLM inference servers and plot the results."""

__version__ = "0.1.0"
__all__ = ["__version__"]
