"""HTTP: routes, request/response mapping, SSE framing, the one error body."""
