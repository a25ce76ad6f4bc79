"""Routes anyone may call, marked in code: `@public` on the endpoint.

With auth, every other route of the API needs a signed-in caller: the v1 router adds the check
(`app.api.auth.signed_in_by_default`) to each route that does not authenticate by itself. Without
auth the mark only documents the route.
"""

PUBLIC_MARK = "__public_route__"


def public[EndpointT](endpoint: EndpointT) -> EndpointT:
    """Mark `endpoint` (a route's function, or a mounted app) as callable without signing in:
    sign-in, sign-up, health probes, the API docs."""
    setattr(endpoint, PUBLIC_MARK, True)
    return endpoint


def is_public(endpoint: object) -> bool:
    """Whether `endpoint` was marked with `public`."""
    return getattr(endpoint, PUBLIC_MARK, False) is True
