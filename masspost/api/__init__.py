"""The REST API (docs/api.md): django-ninja on the interfaces layer. Handlers parse, call one service or selector
— the same ones the CLI and the web UI call — and render; `problems` is the one place errors become
responses, `auth` the one place a bearer token becomes a Scope."""
