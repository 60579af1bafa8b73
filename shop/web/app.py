"""The Litestar application factory."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Router, get, head
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from shop.adapters.db import WalCheckpointer
from shop.clock import system_now
from shop.domain.calendar import public_holidays
from shop.domain.errors import NotFound
from shop.domain.markets import Market
from shop.services.context import ShopContext
from shop.services.login_throttle import LoginThrottle, NoticeThrottle
from shop.settings import Settings, SettingsError
from shop.web.account_routes import MyAccountController, OpsAccountController
from shop.web.auth import jwt_auth
from shop.web.complaint_routes import ComplaintController, OpsComplaintController
from shop.web.conformity_routes import ConformityClaimController, OpsConformityClaimController
from shop.web.controllers import (
    AccountController, CatalogueController, OpsController, OrderController, TestClockController,
)
from shop.web.device_routes import DeviceController
from shop.web.errors import EXCEPTION_HANDLERS
from shop.web.force_majeure_routes import ForceMajeureController
from shop.web.interruption_routes import InterruptionController, OpsInterruptionController
from shop.web.perk_routes import PerkController
from shop.web.responses import HealthOut, PublicOperation
from shop.web.review_routes import OpsAccountBlockController, OpsContentNoticeController, ReviewController
from shop.web.service_case_routes import ServiceCaseController
from shop.web.schemas import StrictJsonRequest, close_request_bodies
from shop.web.stripe_webhook import stripe_webhook
from shop.web.take_back_routes import OpsTakeBackController, TakeBackController


SWAGGER_ASSETS = "/schema/assets"
"""Swagger UI's own files, served by the shop (python package swagger-ui-bundle): the API's page at
/schema/swagger works without reaching a CDN."""


@get("/health", tags=["meta"], operation_class=PublicOperation)
async def health() -> HealthOut:
    return {"status": "ok"}


@head("/health", tags=["meta"], operation_class=PublicOperation)
async def health_head() -> None:
    """The health check's status without its body, for a monitor or load balancer that asks with
    HEAD (RFC 9110 9.3.2)."""


async def refuse_nul_in_path(request: Request) -> None:
    """No resource is named with U+0000 (PostgreSQL cannot even look one up): 404, as for any unknown id."""
    if any("\x00" in str(value) for value in request.path_params.values()):
        raise NotFound("not_found", "no such resource")


def create_app(settings: Settings | None = None, *, freeze_startup_objects: bool = False) -> Litestar:
    """The app; `freeze_startup_objects` for a serving process (see `lifespan`)."""
    settings = settings or Settings.from_env()
    ctx = ShopContext.from_settings(settings)
    auth = jwt_auth(settings.secret_key)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        this_year = system_now().year
        for market in Market:  # the holiday tables load on first use (0.6 s): not on a customer's order
            for year in (this_year, this_year + 1):
                public_holidays(year, market)
        if freeze_startup_objects:
            # What exists once the app is up (modules, tables, compiled statements) lives as long
            # as the process: out of the collector's sight, the full collections that otherwise
            # stop every request now and then get short (order p99 at concurrency 16, three runs each:
            # 142-169 ms without, 62-118 ms with; Python's docs: gc.freeze).
            gc.collect()
            gc.freeze()
        checkpointer = WalCheckpointer.for_database(ctx.db)  # SQLite: commits append, a thread copies
        if checkpointer is not None:
            checkpointer.start()
        try:
            yield
        finally:
            await ctx.aclose()
            if checkpointer is not None:
                checkpointer.stop()

    api = Router(
        path="/api/v1",
        route_handlers=[AccountController, CatalogueController, OrderController, OpsController,
                        stripe_webhook(ctx), health, health_head, MyAccountController, OpsAccountController, PerkController,
                        ServiceCaseController,
                        DeviceController, ComplaintController, OpsComplaintController, ConformityClaimController,
                        OpsConformityClaimController, ForceMajeureController, InterruptionController,
                        OpsInterruptionController, TakeBackController, OpsTakeBackController,
                        ReviewController, OpsContentNoticeController, OpsAccountBlockController,
                        *([TestClockController] if settings.is_test else [])],
        before_request=refuse_nul_in_path,
    )
    logging.getLogger("shop").setLevel(logging.INFO)
    for chatty in ("stripe", "httpx", "aiohttp"):  # a line per Stripe call at INFO: noise, and 0.1 ms each
        logging.getLogger(chatty).setLevel(logging.WARNING)
    swagger_assets = create_static_files_router(path=SWAGGER_ASSETS, directories=[swagger_ui_path],
                                                include_in_schema=False)
    app = Litestar(
        route_handlers=[api, swagger_assets],
        dependencies={
            "ctx": Provide(lambda: ctx, use_cache=True, sync_to_thread=False),
        },
        on_app_init=[auth.on_app_init],
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=StrictJsonRequest,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="mi.com shop backend", version="1", path="/schema",
                                     render_plugins=[SwaggerRenderPlugin(
                                         js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
                                         css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
                                         standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js")]),
        debug=False,
        state={"ctx": ctx, "jwt": auth, "login_throttle": LoginThrottle(), "notice_throttle": NoticeThrottle()},
    )
    close_request_bodies(app.openapi_schema)  # the document built once, here, and served as amended
    return app


def app_from_env() -> Litestar:
    """For uvicorn: `uvicorn --factory shop.web.app:app_from_env`. Unusable settings (development
    secrets in production) stop the server with their message, not a traceback."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    return create_app(settings, freeze_startup_objects=True)


