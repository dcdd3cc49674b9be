"""The documented shapes of the API's successful answers (for ``/docs`` and the conformance tests).

Handlers build their JSON from the services; these models describe it, and the answers made from a
service's objects (a draft, a search result) are serialised through them (``web.answers.answer``),
one module per domain and ``common`` for what several share. The fuzz and journey
tests check every real answer against them, so a field added to a service without being added here
fails a test instead of silently drifting from the documentation. Objects we own forbid extra
fields; free-form values (form data, facets) stay open."""
