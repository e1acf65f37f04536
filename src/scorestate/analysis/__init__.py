"""Analyses over runs: comparisons of policies on the same citizens, explanations, sensitivity."""
