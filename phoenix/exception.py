"""Errors a phoenix application raises to answer with a JSON error.

Each class carries the HTTP status it maps to; ``phoenix.wsgi.Resource`` turns
them into ``{"error": {"code", "title", "message"}}`` bodies. Services derive
their own exceptions from these (apollo/exception.py).
"""
from __future__ import annotations


class Error(Exception):
    """Base error: a message safe to show to the client, and a status."""

    code = 500
    title = 'Internal Server Error'
    message = 'An unexpected error occurred.'

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        if message is None:
            message = self.message % kwargs if kwargs else self.message
        self.message = message
        super().__init__(message)


class BadRequest(Error):
    code = 400
    title = 'Bad Request'
    message = 'The request is malformed.'


class NotFound(Error):
    code = 404
    title = 'Not Found'
    message = 'The resource could not be found.'


class MethodNotAllowed(Error):
    code = 405
    title = 'Method Not Allowed'
    message = 'The method is not allowed for this resource.'

    def __init__(self, message: str | None = None, allowed: list[str] | None = None,
                 **kwargs: object) -> None:
        self.allowed = sorted(allowed or [])
        super().__init__(message, **kwargs)


class Conflict(Error):
    code = 409
    title = 'Conflict'
    message = 'The request conflicts with the current state of the resource.'


class RequestEntityTooLarge(Error):
    code = 413
    title = 'Request Entity Too Large'
    message = 'The request body is too large.'


class UnsupportedMediaType(Error):
    code = 415
    title = 'Unsupported Media Type'
    message = 'The request body must be application/json.'


class ServiceUnavailable(Error):
    code = 503
    title = 'Service Unavailable'
    message = 'The service cannot handle the request right now.'
