"""Sequence models: time-series forecasting (`timeseries/`), text (`text/`) and the event-sequence encoder."""
