"""The PagerDuty REST API v2 calls that ``sync_pagerduty`` makes: list, read, create, update.

Authenticated with an API token (``Authorization: Token token=...``), which never appears in an
error or repr. Reads and updates are retried like the Events API (429, 5xx, network errors,
bounded); a create is retried only on 429 or a refused connection, which PagerDuty never acted
on: after a 5xx or a lost answer it may exist, and the next run finds it by name instead of
making a second one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from nzila_ops.conf import DEFAULTS
from nzila_ops.integrations.pagerduty.transport import PagerDutyError, RetryPolicy, exchange

ACCEPT = "application/vnd.pagerduty+json;version=2"
# The largest page the API serves with offset pagination.
PAGE_SIZE = 100


class RestClient:
    """REST API v2 at ``api_url`` (``https://api.pagerduty.com``)."""

    def __init__(
        self,
        token: str,
        api_url: str = DEFAULTS["PAGERDUTY"]["API_URL"],
        policy: RetryPolicy | None = None,
    ) -> None:
        self._token = token
        self.api_url = api_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        #: How many writes (POST, PUT) this client made: a dry run makes none.
        self.writes = 0

    def __repr__(self) -> str:
        return f"RestClient({self.api_url!r})"

    def list(self, collection: str, **params: Any) -> list[dict[str, Any]]:
        """Every object of ``collection`` (``"schedules"``...) the query finds, all pages."""
        found: list[dict[str, Any]] = []
        while True:
            query = {**params, "limit": PAGE_SIZE, "offset": len(found)}
            page = self._call(
                "GET", f"/{collection}?{urlencode(query, doseq=True)}", what=f"listing {collection}"
            )
            batch = page.get(collection)
            if not isinstance(batch, list):
                raise PagerDutyError(
                    f"PagerDuty listing {collection} failed: the answer has no {collection!r}",
                    transient=False,
                )
            found.extend(batch)
            if not batch or not page.get("more"):
                return found

    def get(self, collection: str, object_id: str, wrapper: str) -> dict[str, Any]:
        """One object, e.g. ``get("schedules", "PABC123", "schedule")``."""
        page = self._call(
            "GET",
            f"/{collection}/{quote(object_id, safe='')}",
            what=f"reading {wrapper} {object_id}",
        )
        return _unwrap(page, wrapper)

    def create(self, path: str, wrapper: str, fields: dict[str, Any]) -> dict[str, Any]:
        """POST ``{wrapper: fields}`` to ``path``; the created object."""
        self.writes += 1
        page = self._call(
            "POST",
            path,
            body={wrapper: fields},
            what=f"creating {wrapper} {_name(fields)}",
            retry_server_errors=False,
        )
        return _unwrap(page, wrapper)

    def update(self, path: str, wrapper: str, fields: dict[str, Any]) -> dict[str, Any]:
        """PUT ``{wrapper: fields}`` to ``path`` (an object's URL); the updated object."""
        self.writes += 1
        page = self._call(
            "PUT", path, body={wrapper: fields}, what=f"updating {wrapper} {_name(fields)}"
        )
        return _unwrap(page, wrapper)

    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        body: Any = None,
        retry_server_errors: bool = True,
    ) -> dict[str, Any]:
        answer = exchange(
            method,
            self.api_url + path,
            what=what,
            policy=self.policy,
            body=body,
            headers={"Accept": ACCEPT, "Authorization": f"Token token={self._token}"},
            secrets=[self._token],
            retry_server_errors=retry_server_errors,
        )
        if not isinstance(answer.payload, dict):
            raise PagerDutyError(f"PagerDuty {what} failed: the answer is not JSON", transient=True)
        return answer.payload


def reference(object_id: str, kind: str) -> dict[str, str]:
    """``{"id": ..., "type": "<kind>_reference"}``, how the API links one object to another."""
    return {"id": object_id, "type": f"{kind}_reference"}


def _unwrap(page: dict[str, Any], wrapper: str) -> dict[str, Any]:
    inner = page.get(wrapper)
    if not isinstance(inner, dict) or not inner.get("id"):
        raise PagerDutyError(f"PagerDuty answer has no {wrapper} with an id", transient=False)
    return inner


def _name(fields: dict[str, Any]) -> str:
    return repr(fields["name"]) if fields.get("name") else ""
