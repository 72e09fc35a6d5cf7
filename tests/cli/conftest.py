"""The ``served`` fixture: the real app under uvicorn, recorded, with real accounts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from api.app import create_app
from api.context import AppContext
from tests.cli.served import Recorder, Served, serve
from tests.conftest import Actor


@pytest.fixture
def served_app(ctx: AppContext) -> FastAPI:
    """The app the ``served`` server runs; a test may add routes before the first request."""
    return create_app(context=ctx)


@pytest.fixture
def served(
    ctx: AppContext, served_app: FastAPI, admin: Actor, technician: Actor
) -> Iterator[Served]:
    recorder = Recorder(served_app)
    with serve(recorder) as url:
        yield Served(url=url, ctx=ctx, recorder=recorder, admin=admin, technician=technician)
