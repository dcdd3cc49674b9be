"""The mini-program's REST API (``/api/v1/...``): Sanic blueprints that translate requests into
service calls and results into JSON, and the mini-program's sign-in (``auth``). What every HTTP
layer shares (the error shape, body parsing, documentation helpers, rate limits) is in ``web/``."""
