"""What every HTTP layer (``miniapp_api``, ``console``, ``wechat``) shares: the one JSON error shape
and the mapping from domain error codes to HTTP statuses, request-body and query parsing, OpenAPI
helpers, pagination, the client's address and rate limits. It knows no feature."""
