"""The JSON API through Flask's test client, on the test PostgreSQL: `api.token(role)` makes a
user of that role and a token for them, `api.get/post/...(path, token=…, json=…)` call /api/v1."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from distribute.db import make_sessionmaker
from distribute.services import users
from distribute.services.actor import operator
from staff_helpers import staff_settings, truncate


@dataclass
class Api:
    client: object
    sessions: sessionmaker[Session]
    made: int = 0

    def token(self, role: str, email: str | None = None) -> str:
        self.made += 1
        email = email or f"api-{role}{self.made}@example.org"
        with self.sessions.begin() as session:
            users.add_user(session, operator(), email, role=role)
            plain, _ = users.create_token(session, operator(), email, f"test {role}")
        return plain

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {}) | ({"Authorization": f"Bearer {token}"} if token else {})
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def patch(self, path, **kw):
        return self.call("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


@pytest.fixture
def api(pg_url, tmp_path):
    from distribute.web.staff import create_app

    truncate(pg_url)
    app = create_app(staff_settings(pg_url, tmp_path))
    state = app.extensions["distribute_staff"]
    yield Api(app.test_client(), make_sessionmaker(state.engine))
    state.engine.dispose()
