"""Multivariate time-series forecasting: windows, models, the ETT protocol, raw-input exports."""
