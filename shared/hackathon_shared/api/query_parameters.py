"""Unknown query parameters are refused, on every public route, in one place.

A route's query parameters are those its handler and its dependencies declare (``limit`` and
``cursor`` on lists, ``access_token`` on the notification stream). Anything else in the query
(``?version=2``, a misspelt ``?limt=10``) is the 422 ``validation`` problem naming each
unknown parameter as a ``field``, before anything else is looked at, rather than silently
ignored (docs/input-rules.md).

It is one dependency for a whole router or app::

    APIRouter(prefix="/api/v1", dependencies=[Depends(refuse_unknown_query_parameters)])
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyQuery
from pydantic import BaseModel

from hackathon_shared.problems import invalid_fields


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters of ``dependant`` and of every dependency below it: parameters, a
    parameter model's fields (``Annotated[Model, Query()]``), and an API key read from the
    query (``APIKeyQuery``, the notification stream's ``access_token``)."""
    names: set[str] = set()
    if isinstance(dependant.call, APIKeyQuery):
        names.add(dependant.call.model.name)
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            names.update(f.alias or n for n, f in model.model_fields.items())
        else:
            names.add(param.alias)
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    """What ``route`` reads from the query (a walk over a handful of dependants, done only
    for requests that have a query string)."""
    return frozenset(_query_names(route.dependant))


def unknown_query_parameters(request: Request) -> list[str]:
    """The request's query parameters that its route does not declare, in order, once each."""
    if not request.scope.get("query_string"):
        return []
    route = request.scope.get("route")
    known = declared_query_parameters(route) if isinstance(route, APIRoute) else frozenset()
    return list(dict.fromkeys(name for name in request.query_params if name not in known))


async def refuse_unknown_query_parameters(request: Request) -> None:
    unknown = unknown_query_parameters(request)
    if unknown:
        raise invalid_fields(
            [{"field": name, "message": "unknown query parameter"} for name in unknown]
        )
