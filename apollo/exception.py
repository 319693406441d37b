"""Apollo's exceptions: each maps to an HTTP status through phoenix.exception."""
from __future__ import annotations

from phoenix import exception


class ApolloError(exception.Error):
    """Base of apollo's errors."""


class InvalidItem(ApolloError, exception.BadRequest):
    message = 'The item is invalid.'


class ItemNotFound(ApolloError, exception.NotFound):
    message = 'No item with id %(item_id)s.'


class DuplicateItemName(ApolloError, exception.Conflict):
    message = 'An item named %(name)s already exists.'


class StorageUnavailable(ApolloError, exception.ServiceUnavailable):
    message = 'The item store is not usable: %(reason)s'


class JobNotFound(ApolloError, exception.NotFound):
    message = 'No job with id %(job_id)s.'


class MessagingUnavailable(ApolloError, exception.ServiceUnavailable):
    message = 'The message bus is not usable: %(reason)s'


class EngineTimeout(ApolloError, exception.Error):
    code = 504
    title = 'Gateway Timeout'
    message = 'No RPC worker answered within %(timeout)s seconds.'
