"""Helpers for tests (testonly targets): things several packages' tests would otherwise repeat."""
