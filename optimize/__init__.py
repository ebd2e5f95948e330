"""The sourcing model: cost file, instance, CP-SAT model, evaluator and analyses."""
