"""The HTTP API and the dashboard: `taskline serve`, or in Python

    from taskline import Taskline
    from taskline.api import api_token, create_app

    tl = Taskline.open()
    token, _written_to = api_token(tl.home)
    app = create_app(tl, token=token)   # any ASGI server; `taskline serve` uses uvicorn

The schema is at `/openapi.json`, the interactive docs at `/api/docs`, the
dashboard at `/`.
"""

from taskline.api.app import create_app
from taskline.api.auth import api_token

__all__ = ["api_token", "create_app"]
