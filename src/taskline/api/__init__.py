"""The HTTP API and the dashboard: `taskline serve`, or in Python

    import uvicorn
    from taskline import Taskline
    from taskline.api import api_token, create_app

    tl = Taskline.open()
    token, _written_to = api_token(tl.home)
    uvicorn.run(create_app(tl, token=token))   # or any ASGI server
    if tl.durable:
        tl.stop_durable()   # once the server has stopped: see `create_app`

The schema is at `/openapi.json` and the dashboard at `/`; there is no docs
page, because Swagger UI and ReDoc load their scripts from a CDN.
"""

from taskline.api.app import create_app
from taskline.api.auth import api_token

__all__ = ["api_token", "create_app"]
