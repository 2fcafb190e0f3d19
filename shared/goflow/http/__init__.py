"""The HTTP adapter: API Gateway HTTP API (payload 2.0) events in, JSON responses out.

The domain never sees HTTP. ``goflow.http.app.app`` is the resolver the api function serves.
"""
