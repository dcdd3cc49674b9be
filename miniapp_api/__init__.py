"""The mini-program's REST API (``/api/v1/...``): Sanic blueprints that translate requests into
service calls and results into JSON, plus the API's common rules (one error shape, request
ids, body limits)."""
