"""The model server core: loading exports, the model registry, inference, the TF Serving gRPC
services and health, and the server process (`server_main`)."""
