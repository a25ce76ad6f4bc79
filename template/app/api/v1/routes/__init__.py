"""One module per resource, each with a `router`; `app.api.v1.router` includes them all."""
