"""The API's parts, built once (the composition root of ``gridflow api``): keys, secret,
services, places, the read model and its follower, the publisher, the rate limiter."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from aiohttp import web

from events.orgtree import OrgTree
from events.policy import Policy
from gridflow.api.errors import ApiError, forbidden
from gridflow.api.follower import LogFollower
from gridflow.api.forms import Fields
from gridflow.api.keys import AppKey, KeyRing
from gridflow.api.places import Places
from gridflow.api.publisher import EventPublisher
from gridflow.api.ratelimit import RateLimiter
from gridflow.api.readmodel import ReadModel
from gridflow.api.services import Catalogue
from gridflow.api.submit import Submitter
from gridflow.sdk.factory import EventFactory
from gridflow.settings import Settings


@dataclass
class Api:
    settings: Settings
    keys: KeyRing
    secret: bytes
    policy: Policy
    tree: OrgTree
    catalogue: Catalogue = field(init=False)
    places: Places = field(init=False)
    model: ReadModel = field(init=False)
    follower: LogFollower = field(init=False)
    publisher: EventPublisher = field(init=False)
    submitter: Submitter = field(init=False)
    limiter: RateLimiter = field(init=False)
    _factories: dict[str, EventFactory] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.catalogue, self.places, self.model = Catalogue(self.policy), Places(self.tree), ReadModel()
        self.follower = LogFollower(self.settings, self.model)
        self.publisher = EventPublisher(self.settings)
        self.submitter = Submitter(self.publisher)
        self.limiter = RateLimiter(self.settings.api_rate_per_second, self.settings.api_rate_burst)

    def factory(self, app: str) -> EventFactory:
        """The SDK's event factory for one app: the app is the producer of its events."""
        if app not in self._factories:
            self._factories[app] = EventFactory(app, policy=self.policy)
        return self._factories[app]

    def authorize(self, presented: str | None, scope: str) -> AppKey:
        if not presented:
            raise forbidden("api_key: required: a key of this API in the X-Api-Key header (or the api_key field)")
        found = self.keys.find(presented)
        if found is None:
            raise forbidden("api_key: not a key of this API")
        if scope not in found.scopes:
            raise forbidden(f"api_key: the key of {found.app} may not {scope}")
        self.throttle(f"key:{found.app}")
        return found

    def throttle(self, who: str) -> None:
        wait = self.limiter.take(who)
        if wait:
            raise ApiError(429, f"too many requests: at most {self.settings.api_rate_per_second:g} a second "
                                f"(bursts of {self.settings.api_rate_burst}); retry after the Retry-After seconds",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})

    def reader(self, request: web.Request) -> None:
        """Reads are open (rate-limited per client address, kept in memory only) or need a read key."""
        if self.settings.api_read_access == "key":
            self.authorize(presented_key(request), "read")
        else:
            self.throttle(f"addr:{request.remote}")

    def require_ready(self) -> None:
        if not self.follower.ready.is_set():
            raise ApiError(503, "starting: the read model is still reading the event log; retry shortly",
                           headers={"Retry-After": "2"})


def presented_key(request: web.Request, fields: Fields | None = None) -> str | None:
    """The key from the X-Api-Key header, an ``Authorization: Bearer`` header, the form's
    ``api_key`` field or the query string (where GeoReport clients put it)."""
    header = request.headers.get("X-Api-Key")
    if header:
        return header
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    if fields is not None and fields.get("api_key"):
        return fields.get("api_key")
    return request.query.get("api_key") or None


API = web.AppKey("api", Api)
