"""seqsch: response length perception and sequence scheduling for LLM inference."""

__version__ = "0.1.0"
