"""Versioned SavedModel export in the TF Serving layout (`publish`), its metadata and versions.

Import the modules you need (`from common.export import publish, metadata`);
`metadata.read` and `versions` work without importing TensorFlow.
"""
