"""SQLite storage of the demo shop: schema, deterministic seed, connection.

The shop is one process serving async handlers on one event loop thread, so a
single connection is shared by all requests; every transaction is opened and
committed without an `await` in between, so requests never interleave inside one.
"""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path

from siteward.shop.passwords import hash_password

DEMO_EMAIL = "demo@siteward.test"
DEMO_PASSWORD_ENV = "SITEWARD_SHOP_DEMO_PASSWORD"
DEMO_PASSWORD_DEFAULT = "demo-password-123"
# The React storefront's accounts (standard_user, locked_out_user, slow_user, error_user)
# share one public test password. A config names it as a secret read from APP_PASSWORD_ENV;
# the CLI defaults that variable to APP_PASSWORD, as it does for the demo password.
APP_PASSWORD = "secret_sauce"
APP_PASSWORD_ENV = "SITEWARD_SHOP_APP_PASSWORD"
SEED = 20240501  # fixed: the same catalogue, prices and ids on every start

SCHEMA = """
CREATE TABLE IF NOT EXISTS categories (
    id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    category_id INTEGER NOT NULL REFERENCES categories(id),
    price_cents INTEGER NOT NULL, description TEXT NOT NULL,
    stock INTEGER NOT NULL, featured INTEGER NOT NULL DEFAULT 0,
    hue INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS products_category ON products(category_id);
CREATE INDEX IF NOT EXISTS products_featured ON products(featured);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL, created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY, user_id INTEGER REFERENCES users(id),
    checkout TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS cart_items (
    session_token TEXT NOT NULL REFERENCES sessions(token),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (session_token, product_id));
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE,
    user_id INTEGER REFERENCES users(id), email TEXT NOT NULL,
    full_name TEXT NOT NULL, street TEXT NOT NULL, city TEXT NOT NULL,
    postcode TEXT NOT NULL, country TEXT NOT NULL,
    card_token TEXT NOT NULL, card_last4 TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE INDEX IF NOT EXISTS orders_user ON orders(user_id);
CREATE TABLE IF NOT EXISTS order_items (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    name TEXT NOT NULL, unit_price_cents INTEGER NOT NULL, quantity INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS order_items_order ON order_items(order_id);
"""

# (slug, display name, product names). Some names carry Chinese text: the shops
# this suite tests are often Chinese, so every page must render CJK.
CATALOGUE: list[tuple[str, str, list[str]]] = [
    ("shoes", "Shoes", [
        "Canvas Sneaker", "Leather Loafer", "Trail Runner", "Suede Chelsea Boot",
        "Cloth Shoes 布鞋", "Court Classic", "Rain Boot", "Slip-On Espadrille", "Hiking Boot"]),
    ("shirts", "Shirts", [
        "Oxford Shirt", "Linen Shirt", "Flannel Shirt", "Denim Shirt", "Polo Shirt",
        "Mandarin Collar Shirt 立领衬衫", "Striped Tee", "Graphic Tee", "Henley Shirt"]),
    ("trousers", "Trousers", [
        "Chino Trousers", "Slim Jeans", "Cargo Pants", "Wool Trousers",
        "Linen Trousers 亚麻裤", "Jogger Pants", "Corduroy Trousers", "Denim Shorts"]),
    ("bags", "Bags", [
        "Canvas Tote", "Leather Backpack", "Weekender Duffel", "Crossbody Bag",
        "Bamboo Handle Bag 竹柄包", "Laptop Sleeve", "Belt Bag", "Market Basket"]),
    ("accessories", "Accessories", [
        "Silk Scarf 丝巾", "Wool Beanie", "Leather Belt", "Aviator Sunglasses",
        "Canvas Cap", "Jade Bracelet 玉手镯", "Merino Socks", "Leather Wallet"]),
    ("home", "Home", [
        "Ceramic Mug", "Porcelain Tea Set 青花瓷茶具", "Linen Cushion", "Scented Candle",
        "Bamboo Tray", "Wool Throw", "Glass Carafe", "Paper Lantern 灯笼"]),
]

_ADJECTIVES = ["durable", "lightweight", "timeless", "soft", "hand-finished", "everyday",
               "breathable", "sturdy", "classic", "modern"]
_NOUNS = {"shoes": "shoe", "shirts": "shirt", "trousers": "pair of trousers", "bags": "bag",
          "accessories": "accessory", "home": "piece for the home"}
_MATERIALS = ["organic cotton", "full-grain leather", "recycled polyester", "linen",
              "merino wool", "natural rubber", "bamboo", "porcelain", "canvas"]


def slugify(name: str) -> str:
    """ASCII slug from the Latin part of a name ("Silk Scarf 丝巾" -> "silk-scarf")."""
    words = "".join(c.lower() if c.isascii() and c.isalnum() else " " for c in name).split()
    return "-".join(words)


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def init_db(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open (creating if needed) the database, and seed it if it holds no products."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    conn.executescript(SCHEMA)
    if conn.execute("SELECT COUNT(*) FROM products").fetchone()[0] == 0:
        seed(conn)
    return conn


def seed(conn: sqlite3.Connection) -> None:
    """Fill the catalogue and the demo account; same input -> same rows."""
    rng = random.Random(SEED)
    conn.execute("BEGIN")
    product_id = 0
    for position, (cat_slug, cat_name, names) in enumerate(CATALOGUE, start=1):
        conn.execute("INSERT INTO categories (id, slug, name, position) VALUES (?, ?, ?, ?)",
                     (position, cat_slug, cat_name, position))
        for index, name in enumerate(names):
            product_id += 1
            price = rng.randrange(9, 190) * 100 + rng.choice([0, 50, 90, 95])
            description = (
                f"A {rng.choice(_ADJECTIVES)} {_NOUNS[cat_slug]} in "
                f"{rng.choice(_MATERIALS)}. {name} is made to last and easy to care for; "
                f"ships in two working days.")
            conn.execute(
                "INSERT INTO products (id, slug, name, category_id, price_cents, description,"
                " stock, featured, hue) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (product_id, slugify(name), name, position, price, description,
                 rng.randrange(5, 200), int(index < 2), rng.randrange(0, 360)))
    password = os.environ.get(DEMO_PASSWORD_ENV) or DEMO_PASSWORD_DEFAULT
    conn.execute("INSERT INTO users (email, password_hash) VALUES (?, ?)",
                 (DEMO_EMAIL, hash_password(password)))
    conn.execute("COMMIT")
