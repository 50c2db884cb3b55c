"""The admin dashboard: server-rendered pages (Jinja2) over the declared operations,
signed in with an API key, acting as front door `dashboard` with that key's scopes.

How it fits together (medic.dashboard.mount lists the pages):

* `session` — who is signed in (`Visitor`, the one session dependency);
* `pages` — the one way to render a page (`render`, the layout `base.html`, the nav);
* `forms` — the one way to post a form (`Posted`: CSRF checked, rate limited; `act`);
* one module per page or group of pages, each with its own router.
"""
