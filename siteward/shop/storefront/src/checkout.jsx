// /app/cart and the three checkout steps: info -> overview -> complete.
import { useState } from 'react';
import { BASE, faults } from './config.js';
import { Page } from './layout.jsx';
import { LoadState } from './catalogue.jsx';
import { Link, navigate } from './router.jsx';
import {
  clearCart, forgetCheckout, money, readCheckout, removeFromCart, saveCheckout, useCart,
  useProducts,
} from './store.js';

// Cart items joined with their products; unknown ids are dropped.
function useLines() {
  const items = useCart();
  const { products, error, retry } = useProducts();
  const byId = new Map((products || []).map((p) => [p.id, p]));
  const lines = items.filter((i) => byId.has(i.id)).map((i) => ({ ...i, product: byId.get(i.id) }));
  const total = lines.reduce((sum, l) => sum + l.quantity * l.product.price_cents, 0);
  return { lines, total, ready: Boolean(products), error, retry };
}

function Lines({ lines, removable }) {
  return (
    <ul className="sf-lines" data-test="cart-list">
      {lines.map(({ id, quantity, product }) => (
        <li key={id} className="sf-line" data-test="cart-item" data-product-id={id}>
          <span className="sf-qty" data-test="cart-item-quantity">{quantity}</span>
          <Link href={`${BASE}/product/${product.slug}`} data-test="cart-item-name">{product.name}</Link>
          <span className="sf-price" data-test="cart-item-price">{money(quantity * product.price_cents)}</span>
          {removable && (
            <button type="button" className="sf-link-button" data-test="remove"
                    onClick={() => removeFromCart(id)}>Remove</button>
          )}
        </li>
      ))}
    </ul>
  );
}

export function CartPage({ session }) {
  const { lines, total, ready, error, retry } = useLines();
  return (
    <Page title="Your cart" user={session.user}>
      <h1>Your cart</h1>
      {!ready && <LoadState error={error} retry={retry} />}
      {ready && lines.length === 0 && <p data-test="cart-empty">Your cart is empty.</p>}
      {ready && lines.length > 0 && <Lines lines={lines} removable />}
      {ready && <p className="sf-total" data-test="cart-total">Total: {money(total)}</p>}
      <div className="sf-actions">
        <Link href={`${BASE}/products`} data-test="continue-shopping">Continue shopping</Link>
        <Link href={`${BASE}/checkout/info`} className="sf-button" data-test="checkout">Checkout</Link>
      </div>
    </Page>
  );
}

const FIELDS = [
  ['firstName', 'first-name', 'First Name', 'given-name'],
  ['lastName', 'last-name', 'Last Name', 'family-name'],
  ['postalCode', 'postal-code', 'Postal Code', 'postal-code'],
];

export function CheckoutInfo({ session }) {
  const [values, setValues] = useState(() => {
    const saved = { firstName: '', lastName: '', postalCode: '', ...readCheckout() };
    return faults.brokenInput ? { ...saved, firstName: '' } : saved;
  });
  const [error, setError] = useState('');

  function onChange(key) {
    // app-broken-input: the first-name handler never updates state (React resets the field)
    if (key === 'firstName' && faults.brokenInput) return () => {};
    return (event) => setValues((v) => ({ ...v, [key]: event.target.value }));
  }

  function submit(event) {
    event.preventDefault();
    const missing = FIELDS.find(([key]) => !values[key].trim());
    if (missing) return setError(`${missing[2]} is required`);
    saveCheckout(values);
    navigate(`${BASE}/checkout/overview`);
  }

  return (
    <Page title="Checkout: your information" user={session.user}>
      <h1>Checkout: your information</h1>
      <form className="sf-form" onSubmit={submit} noValidate data-test="checkout-info-form">
        {FIELDS.map(([key, test, label, autoComplete]) => (
          <label key={key}>
            {label}
            <input name={key} data-test={test} autoComplete={autoComplete}
                   value={values[key]} onChange={onChange(key)} />
          </label>
        ))}
        {error && <p className="sf-error" role="alert" data-test="error">{error}</p>}
        <div className="sf-actions">
          <Link href={`${BASE}/cart`} data-test="cancel">Cancel</Link>
          <button type="submit" className="sf-button" data-test="continue">Continue</button>
        </div>
      </form>
    </Page>
  );
}

export function CheckoutOverview({ session }) {
  const { lines, total, ready, error, retry } = useLines();
  const details = readCheckout();
  function finish() {
    clearCart();
    forgetCheckout();
    navigate(`${BASE}/checkout/complete`);
  }
  return (
    <Page title="Checkout: overview" user={session.user}>
      <h1>Checkout: overview</h1>
      {ready ? <Lines lines={lines} /> : <LoadState error={error} retry={retry} />}
      <p data-test="shipping-info">
        Ship to: {[details.firstName, details.lastName].filter(Boolean).join(' ') || '—'}
        {details.postalCode ? `, ${details.postalCode}` : ''}
      </p>
      <p className="sf-total" data-test="total">Total: {money(total)}</p>
      <div className="sf-actions">
        <Link href={`${BASE}/products`} data-test="cancel">Cancel</Link>
        <button type="button" className="sf-button" data-test="finish" onClick={finish}>Finish</button>
      </div>
    </Page>
  );
}

export function CheckoutComplete({ session }) {
  return (
    <Page title="Checkout: complete" user={session.user}>
      <h1 data-test="complete-header">Thank you for your order!</h1>
      <p data-test="complete-text">Your order has been dispatched and will arrive soon.</p>
      <Link href={`${BASE}/products`} className="sf-button" data-test="back-home">Back home</Link>
    </Page>
  );
}
