"""Test helpers: tiny SavedModels published the way real exports are, for tests and benchmarks."""
