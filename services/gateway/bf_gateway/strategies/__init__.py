"""Strategy routes of the gateway: ``/api/v1/connections/{id}/strategies`` and ``/api/v1/strategies/{id}``."""

from bf_gateway.strategies.router import router

__all__ = ["router"]
