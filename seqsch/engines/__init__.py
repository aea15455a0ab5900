"""Engines: static batches with a KV cache, the scheduled pipeline with FCR recomputation, the
`model.generate` reference, transformers' continuous batching and vLLM, and their result types."""
