"""Clients of the model server: the Python client library, its command line, the load generator."""
