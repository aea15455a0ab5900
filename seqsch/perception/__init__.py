"""Length perception: the PiA prompts and their parser, 50-token buckets, predictors (constant,
zero-shot query, the LoRA module, probe heads on hidden states), their metrics and experiments."""
