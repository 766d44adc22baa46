"""Server-side batching: concurrent requests to one signature share one model call."""
