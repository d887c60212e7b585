"""The traffic model: which request a visitor makes next. Pure; no Locust, no network.

A model is a list of steps grouped into choices. A choice is one route or a flow (the
steps of e.g. a checkout, run in order over successive requests); each choice has a
weight. A visitor keeps the rest of its current flow as `pending`, so every call of
`next_request` yields exactly one request: the open model's arrival rate is then a
request rate, and a closed-model visitor thinks between every page, like a person.

The default model is the demo shop's (and any shop with the same routes): browse home
and categories, search, view products, add to cart, check out (a small share), plus the
JSON APIs. Placeholders ({slug}, {category}, {q}, {product_id}) are filled from samples.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from loadtests.config import PLACEHOLDER, RouteConfig
from siteward.errors import ConfigError
from siteward.secrets import REFERENCE

CHECKOUT_ADDRESS = {
    "full_name": "Load Tester", "email": "load@siteward.test", "street": "1 Load Street",
    "city": "Berlin", "postcode": "10115", "country": "DE",
}
CHECKOUT_CARD = {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"}


def shop_routes() -> list[RouteConfig]:
    """The default visitor mix of an e-commerce shop (weights: share of requests)."""
    r = RouteConfig
    return [
        r(name="/", path="/", weight=10),
        r(name="/category/{category}", path="/category/{category}", weight=8),
        r(name="/search?q=", path="/search?q={q}", weight=4),
        r(name="/product/{slug}", path="/product/{slug}", weight=12),
        r(name="/cart/add", path="/cart/add", method="POST", weight=3,
          form={"product_id": "{product_id}", "quantity": "1"}),
        r(name="/cart", path="/cart", weight=2),
        # Checkout: a small share of visits, one request per step.
        r(name="/cart/add", path="/cart/add", method="POST", weight=1, flow="checkout",
          form={"product_id": "{product_id}", "quantity": "1"}),
        r(name="/checkout/address", path="/checkout/address", flow="checkout"),
        r(name="/checkout/address", path="/checkout/address", method="POST", flow="checkout",
          form=CHECKOUT_ADDRESS),
        r(name="/checkout/payment", path="/checkout/payment", method="POST", flow="checkout",
          form=CHECKOUT_CARD),
        r(name="/checkout/place", path="/checkout/place", method="POST", flow="checkout"),
        r(name="/api/products", path="/api/products", weight=4, group="api"),
        r(name="/api/search?q=", path="/api/search?q={q}", weight=4, group="api"),
        r(name="/api/cart", path="/api/cart", weight=2, group="api"),
        r(name="/api/cart", path="/api/cart", method="POST", weight=2, group="api",
          json_body={"product_id": "{product_id}", "quantity": 1}),
        r(name="/api/orders", path="/api/orders", method="POST", weight=1, group="api",
          json_body={"address": {k: v for k, v in CHECKOUT_ADDRESS.items()},
                     "card": {"number": CHECKOUT_CARD["card_number"], "expiry": "12/30", "cvc": "123"},
                     "items": [{"product_id": "{product_id}", "quantity": 1}]}),
    ]


@dataclass(frozen=True)
class Request:
    """One concrete request, ready to send."""

    method: str
    path: str
    name: str  # statistics key: "GET /product/{slug}"
    group: str
    json_body: Any = None
    form: dict[str, str] | None = None
    follow_redirects: bool = True
    expect_status: tuple[int, ...] | None = None  # None: Locust's rule, a status below 400 succeeds

    @property
    def label(self) -> str:
        """The route template alone ("/product/{slug}"): Locust's name; the method is its type."""
        return self.name.partition(" ")[2]


@dataclass
class Choice:
    weight: int
    steps: list[RouteConfig]


@dataclass
class TrafficModel:
    choices: list[Choice]
    samples: dict[str, list[str]]
    secret_env: dict[str, str] = field(default_factory=dict)  # secret name -> env var name

    def __post_init__(self) -> None:
        # Per-request work is on the load generator's hot path: decide once what each
        # route needs (a fixed request, or placeholders/secrets to fill).
        self._cum_weights = list(itertools.accumulate(c.weight for c in self.choices))
        self._fixed: dict[int, Request] = {}
        self._keys: dict[int, list[str]] = {}
        self._secrets: dict[int, list[str]] = {}
        for route in self.routes():
            text = _route_text(route)
            keys = sorted(set(PLACEHOLDER.findall(REFERENCE.sub("", text))))
            secrets = sorted(set(REFERENCE.findall(json.dumps(route.json_body) + json.dumps(route.form))))
            if not keys and not secrets:
                self._fixed[id(route)] = self._build(route, {}, {})
            self._keys[id(route)] = keys
            self._secrets[id(route)] = secrets

    @classmethod
    def from_routes(cls, routes: list[RouteConfig], samples: Mapping[str, list[str]],
                    secret_env: Mapping[str, str] | None = None) -> "TrafficModel":
        choices: list[Choice] = []
        flows: dict[str, Choice] = {}
        for route in routes:
            if route.flow is None:
                choices.append(Choice(route.weight, [route]))
            elif route.flow in flows:
                flows[route.flow].steps.append(route)
            else:
                flows[route.flow] = Choice(route.weight, [route])
                choices.append(flows[route.flow])
        choices = [c for c in choices if c.weight > 0]
        model = cls(choices, {k: list(v) for k, v in samples.items()}, dict(secret_env or {}))
        missing = sorted(model.placeholders() - set(model.samples))
        if missing:
            raise ConfigError(
                f"load.routes use {', '.join('{' + m + '}' for m in missing)} but load.samples has no values for "
                f"{', '.join(missing)}", hint="add e.g. [load.samples] slug = [\"red-shirt\", \"blue-jeans\"]")
        for name in sorted(model.secret_names() - set(model.secret_env)):
            raise ConfigError(f"load.routes use ${{secrets.{name}}}, which is not declared under [secrets]")
        return model

    def routes(self) -> list[RouteConfig]:
        return [step for choice in self.choices for step in choice.steps]

    def placeholders(self) -> set[str]:
        return route_placeholders(self.routes())

    def secret_names(self) -> set[str]:
        return {m for text in map(_route_text, self.routes()) for m in REFERENCE.findall(text)}

    def route_keys(self) -> dict[str, str]:
        """Statistics key -> route group, for every route the model can request."""
        return {request_name(r): r.group for r in self.routes()}

    def next_request(self, pending: list[RouteConfig], rng: random.Random,
                     environ: Mapping[str, str] | None = None) -> Request:
        """The visitor's next request; `pending` (its unfinished flow) is updated in place."""
        if not pending:
            pending.extend(rng.choices(self.choices, cum_weights=self._cum_weights)[0].steps)
        route = pending.pop(0)
        fixed = self._fixed.get(id(route))
        if fixed is not None:
            return fixed
        values = {key: rng.choice(self.samples[key]) for key in self._keys[id(route)] if key in self.samples}
        return self._build(route, values, self._secret_values(route, environ or {}))

    @staticmethod
    def _build(route: RouteConfig, values: Mapping[str, str], secrets: Mapping[str, str]) -> Request:
        return Request(
            method=route.method,
            path=fill(route.path, values, secrets, quote_values=True),
            name=request_name(route),
            group=route.group,
            json_body=fill_json(route.json_body, values, secrets) if route.json_body is not None else None,
            form={k: fill(v, values, secrets) for k, v in route.form.items()} if route.form else None,
            follow_redirects=route.follow_redirects,
            expect_status=tuple(route.expect_status) if route.expect_status else None,
        )

    def _secret_values(self, route: RouteConfig, environ: Mapping[str, str]) -> dict[str, str]:
        return {n: environ.get(self.secret_env.get(n, ""), "") for n in self._secrets[id(route)]}

    def to_spec(self) -> dict[str, Any]:
        return {"routes": [r.model_dump(mode="json") for r in self.routes()],
                "samples": self.samples, "secret_env": self.secret_env}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> "TrafficModel":
        routes = [RouteConfig.model_validate(r) for r in spec["routes"]]
        return cls.from_routes(routes, spec["samples"], spec.get("secret_env"))


def _route_text(route: RouteConfig) -> str:
    return route.path + json.dumps(route.json_body) + json.dumps(route.form)


def route_placeholders(routes: list[RouteConfig]) -> set[str]:
    """Placeholder names ({slug}, ...) the routes need values for (secrets excluded)."""
    return {m for route in routes for m in PLACEHOLDER.findall(REFERENCE.sub("", _route_text(route)))}


def request_name(route: RouteConfig) -> str:
    return f"{route.method} {route.name}"


def fill(template: str, values: Mapping[str, str], secrets: Mapping[str, str], *,
         quote_values: bool = False) -> str:
    """Secrets first, then placeholders; unknown placeholders stay as written."""
    text = REFERENCE.sub(lambda m: secrets.get(m.group(1), ""), template)

    def value(match: re.Match) -> str:
        key = match.group(1)
        if key not in values:
            return match.group(0)
        return quote(str(values[key]), safe="") if quote_values else str(values[key])

    return PLACEHOLDER.sub(value, text)


_WHOLE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def fill_json(body: Any, values: Mapping[str, str], secrets: Mapping[str, str]) -> Any:
    """Fill placeholders in a JSON body; a value that is exactly "{x}" keeps a number a number."""
    if isinstance(body, dict):
        return {k: fill_json(v, values, secrets) for k, v in body.items()}
    if isinstance(body, list):
        return [fill_json(v, values, secrets) for v in body]
    if isinstance(body, str):
        whole = _WHOLE.match(body)
        if whole and whole.group(1) in values:
            value = values[whole.group(1)]
            return int(value) if str(value).isdigit() else value
        return fill(body, values, secrets)
    return body


def samples_from_catalog(products: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Placeholder values from a product list shaped like the demo shop's /api/products."""
    slugs = [str(p["slug"]) for p in products if p.get("slug")]
    ids = [str(p["id"]) for p in products if p.get("id") is not None]
    categories = sorted({str(p["category"]) for p in products if p.get("category")})
    words = sorted({w.lower() for p in products for w in str(p.get("name", "")).split() if len(w) > 3})
    samples = {"slug": slugs, "product_id": ids, "category": categories, "q": words[:50]}
    return {k: v for k, v in samples.items() if v}
