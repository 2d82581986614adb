"""The web UI (docs/ui.md): Django templates + htmx on the interfaces layer. Views parse, call one service or
selector, render; every patient-touching call gets the user's Scope from `request.scope` (web.middleware)."""
