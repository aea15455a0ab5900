"""Core: where files live, the device and dtype, model loading, decoding settings, the request
type and prompt encoding, workloads and length files. Imports nothing else from seqsch."""
