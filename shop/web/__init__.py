"""The HTTP layer: Litestar app, controllers, request schemas, problem-details errors."""
