// /app/products and /app/product/<slug>: products from the shop's JSON API.
import { useState } from 'react';
import { BASE, faults } from './config.js';
import { ErrorBoundary, Page } from './layout.jsx';
import { Link } from './router.jsx';
import { addToCart, imageFor, useProducts } from './store.js';

// app-slow-click=MS: the add-to-cart handler blocks the main thread (an INP fault; 0 = off).
function addWithFault(id) {
  const slowMs = Number(faults.slowClickMs) || 0;
  if (slowMs > 0) blockMainThread(slowMs);
  addToCart(id);
}

// slow_user: a long task on the main thread while the list first renders.
function blockMainThread(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy on purpose: nothing can paint or answer input meanwhile
  }
}

export function LoadState({ error, retry }) {
  if (!error) return <p className="sf-muted" data-test="loading">Loading products…</p>;
  return (
    <div className="sf-error" role="alert" data-test="load-error">
      <p>Could not load the products: {error}</p>
      <button type="button" className="sf-button" onClick={retry}>Try again</button>
    </div>
  );
}

export function Products({ session }) {
  const { products, error, retry } = useProducts();
  return (
    <Page title="Products" user={session.user}>
      <h1>Products</h1>
      {products
        ? <ErrorBoundary><InventoryList products={products} user={session.user} /></ErrorBoundary>
        : <LoadState error={error} retry={retry} />}
    </Page>
  );
}

function InventoryList({ products, user }) {
  const slowMs = user === 'slow_user' ? Number(faults.slowListMs) || 0 : 0;
  // A lazy initial state runs once per mount, during the first render.
  useState(() => slowMs > 0 && blockMainThread(slowMs));
  const broken = faults.renderError || user === 'error_user';
  return (
    <ul className="sf-grid" data-test="inventory-list">
      {products.map((product, index) => (
        <InventoryItem key={product.id} product={product} products={products}
                       eager={index < 4} broken={broken && index === 0} />
      ))}
    </ul>
  );
}

function InventoryItem({ product, products, eager, broken }) {
  if (broken) {
    // error_user / app-render-error: a bug in a component, thrown while rendering
    throw new TypeError(`Cannot read properties of undefined (reading 'price') in ${product.slug}`);
  }
  const href = `${BASE}/product/${product.slug}`;
  return (
    <li className="sf-card" data-test="inventory-item" data-product-id={product.id}>
      <Link href={href} tabIndex={-1} aria-hidden="true">
        <img src={imageFor(product, products, 300)} alt="" width="300" height="300"
             loading={eager ? 'eager' : 'lazy'} data-test="item-image" />
      </Link>
      <Link href={href} className="sf-card-name" data-test="item-name">{product.name}</Link>
      <span className="sf-price" data-test="item-price">{product.price}</span>
      {/* The accessible name starts with the visible text (WCAG 2.5.3, axe's label-content-name-mismatch). */}
      <button type="button" className="sf-button" data-test="add-to-cart" onClick={() => addWithFault(product.id)}>
        Add to cart<span className="sf-visually-hidden">: {product.name}</span>
      </button>
    </li>
  );
}

export function ProductPage({ session, slug }) {
  const { products, error, retry } = useProducts();
  const product = products?.find((p) => p.slug === slug);
  let body;
  if (!products) {
    body = <LoadState error={error} retry={retry} />;
  } else if (!product) {
    body = <h1 data-test="not-found">No such product</h1>;
  } else {
    body = (
      <article className="sf-product" data-test="product" data-product-id={product.id}>
        <img src={imageFor(product, products, 600)} alt={product.name} width="600" height="600"
             data-test="product-image" />
        <div>
          <h1 data-test="product-name">{product.name}</h1>
          <p data-test="product-description">{product.description}</p>
          <p className="sf-price" data-test="product-price">{product.price}</p>
          <button type="button" className="sf-button" data-test="add-to-cart"
                  onClick={() => addWithFault(product.id)}>
            Add to cart
          </button>
        </div>
      </article>
    );
  }
  return (
    <Page title={product ? product.name : 'Product'} user={session.user}>
      <p><Link href={`${BASE}/products`} data-test="back-to-products">← Back to products</Link></p>
      {body}
    </Page>
  );
}
