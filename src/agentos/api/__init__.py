"""The control plane: a FastAPI app over the runtime, with a server-rendered dashboard."""

from agentos.api.app import create_app

__all__ = ["create_app"]
