"""The REST/JSON front: TF Serving's `/v1/models/<name>[/versions/<v>]:predict` routes on aiohttp."""
