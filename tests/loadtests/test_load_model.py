"""The traffic model: weights, flows, placeholders, secrets. No network."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from loadtests.config import RouteConfig
from loadtests.model import TrafficModel, fill_json, samples_from_catalog, shop_routes
from siteward.errors import ConfigError

SAMPLES = {"slug": ["red-shirt", "blue jeans"], "product_id": ["7"], "category": ["shoes"], "q": ["shirt"]}


def test_shop_model_mixes_requests_by_weight_and_runs_checkout_in_order():
    model = TrafficModel.from_routes(shop_routes(), SAMPLES)
    rng, pending = random.Random(1), []
    names = [model.next_request(pending, rng).name for _ in range(20000)]
    counts = Counter(names)
    # product pages (weight 12) outnumber the home page (10), which outnumbers /cart (2)
    assert counts["GET /product/{slug}"] > counts["GET /"] > counts["GET /cart"] > 0
    assert counts["GET /api/products"] > 0 and counts["POST /api/orders"] > 0
    # every checkout runs its steps in order, one request each
    starts = [i for i, n in enumerate(names) if n == "GET /checkout/address"]
    assert starts
    for i in starts[:-1]:
        assert names[i - 1] == "POST /cart/add"
        assert names[i + 1:i + 4] == ["POST /checkout/address", "POST /checkout/payment", "POST /checkout/place"]


def test_placeholders_are_filled_and_quoted():
    model = TrafficModel.from_routes(
        [RouteConfig(name="/product/{slug}", path="/product/{slug}?from={category}")],
        {"slug": ["blue jeans"], "category": ["a&b"]})
    request = model.next_request([], random.Random(0))
    assert request.path == "/product/blue%20jeans?from=a%26b"
    assert request.name == "GET /product/{slug}" and request.group == "page"


def test_json_bodies_keep_numbers_numbers():
    body = fill_json({"items": [{"product_id": "{product_id}", "note": "id {product_id}"}]}, {"product_id": "7"}, {})
    assert body == {"items": [{"product_id": 7, "note": "id 7"}]}


def test_missing_samples_are_a_config_error_naming_the_placeholder():
    with pytest.raises(ConfigError, match=r"\{sku\}.*load.samples"):
        TrafficModel.from_routes([RouteConfig(name="/p/{sku}", path="/p/{sku}")], {})


def test_secrets_come_from_the_environment_of_the_generator():
    route = RouteConfig(name="/login", path="/login", method="POST",
                        form={"email": "qa@shop.test", "password": "${secrets.qa_password}"})
    model = TrafficModel.from_routes([route], {}, {"qa_password": "SHOP_QA_PASSWORD"})
    request = model.next_request([], random.Random(0), {"SHOP_QA_PASSWORD": "s3cret-value"})
    assert request.form == {"email": "qa@shop.test", "password": "s3cret-value"}
    assert "s3cret-value" not in str(model.to_spec())  # the spec names the variable only
    assert TrafficModel.from_spec(model.to_spec()).secret_env == {"qa_password": "SHOP_QA_PASSWORD"}


def test_undeclared_secret_is_a_config_error():
    route = RouteConfig(name="/login", path="/login", method="POST", form={"password": "${secrets.nope}"})
    with pytest.raises(ConfigError, match="secrets.nope"):
        TrafficModel.from_routes([route], {})


def test_samples_from_a_catalog():
    products = [{"id": 1, "slug": "canvas-sneaker", "category": "shoes", "name": "Canvas Sneaker"},
                {"id": 2, "slug": "linen-shirt", "category": "shirts", "name": "Linen Shirt"}]
    samples = samples_from_catalog(products)
    assert samples["slug"] == ["canvas-sneaker", "linen-shirt"]
    assert samples["product_id"] == ["1", "2"]
    assert samples["category"] == ["shirts", "shoes"]
    assert "sneaker" in samples["q"]


def test_route_checks_travel_with_the_request():
    route = RouteConfig(name="/login", path="/login", method="POST", follow_redirects=False, expect_status=[303],
                        form={"email": "a@b.test"})
    request = TrafficModel.from_routes([route], {}).next_request([], random.Random(0))
    assert request.expect_status == (303,) and request.follow_redirects is False
    assert request.label == "/login" and request.form == {"email": "a@b.test"}
