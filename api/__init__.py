"""The FastAPI HTTP layer: routers per resource, auth dependencies, problem+json errors."""
