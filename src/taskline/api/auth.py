"""The API's bearer token: where it comes from, and the check every endpoint but `/health` makes.

The token is `$TASKLINE_API_TOKEN` when set; otherwise the one kept in
`$TASKLINE_HOME/api-token` (0600), generated the first time the server starts;
`taskline serve` says where the token is, never the token itself.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from taskline.errors import ConfigError
from taskline.private import private_dir, private_file

TOKEN_ENV = "TASKLINE_API_TOKEN"
TOKEN_FILE = "api-token"

_bearer = HTTPBearer(auto_error=False, description="The API token: `Authorization: Bearer TOKEN`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def api_token(home: Path, env: Mapping[str, str] = os.environ) -> tuple[str, Path | None]:
    """The token and, when it was generated just now, the file it was written to."""
    given = env.get(TOKEN_ENV, "").strip()
    if given:
        return given, None
    path = home / TOKEN_FILE
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    except OSError as exc:
        raise ConfigError(f"cannot read the API token in {path}: {exc.strerror}") from exc
    if kept:
        private_file(path)  # an older version may have left it readable by others
        return kept, None
    token = secrets.token_urlsafe(32)
    private_dir(home)
    # Readable by its owner only, from the moment it exists.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return token, path


def _refuse() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="missing or wrong API token: send `Authorization: Bearer TOKEN`",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _matches(request: Request, given: str | None) -> bool:
    expected: str = request.app.state.token
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def require_token(request: Request, credentials: Credentials) -> None:
    """401 unless the request carries the bearer token."""
    if not _matches(request, None if credentials is None else credentials.credentials):
        raise _refuse()


def require_token_or_query(
    request: Request,
    credentials: Credentials,
    token: Annotated[
        str | None,
        Query(description="The API token, for EventSource, which cannot send headers."),
    ] = None,
) -> None:
    """401 unless the request carries the token as a bearer token or as `?token=`."""
    given = credentials.credentials if credentials is not None else token
    if not _matches(request, given):
        raise _refuse()
