"""The one page shape of every list endpoint: limit/offset with a count."""

from rest_framework.pagination import LimitOffsetPagination


class ListPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000
