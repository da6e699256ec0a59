"""Puts every request's writes under one audit context: the signed-in user's id, a request id
(also kept on request.request_id, and returned as X-Request-ID), the path and the method."""

from winback.audit import context


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not context.recording():
            return self.get_response(request)
        with context.request_context(request):
            response = self.get_response(request)
        response.setdefault("X-Request-ID", request.request_id)
        return response
