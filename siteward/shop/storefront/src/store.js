// Client state: the session cookie, the cart in localStorage, the product list.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { config, faults } from './config.js';

// --- session: cookie `sw_app_session=<user>.<expiry epoch seconds>`, set by the login API
export function readSession() {
  const prefix = `${config.sessionCookie}=`;
  const raw = document.cookie.split('; ').find((part) => part.startsWith(prefix));
  if (!raw) return null;
  const value = decodeURIComponent(raw.slice(prefix.length));
  const dot = value.lastIndexOf('.');
  const expires = Number(value.slice(dot + 1));
  if (dot <= 0 || !Number.isFinite(expires) || expires * 1000 <= Date.now()) return null;
  return { user: value.slice(0, dot), expires };
}

export async function logIn(username, password) {
  const response = await fetch('/api/app/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json().catch(() => null);
  if (!body) throw new Error(`the server answered HTTP ${response.status}`);
  return body; // { ok: true, user, expires } or { ok: false, error }
}

export function logOut() {
  document.cookie = `${config.sessionCookie}=; Max-Age=0; Path=/; SameSite=Lax`;
}

// --- cart: [{ id, quantity }] under localStorage[config.cartKey]
const cartListeners = new Set();
let cartCache = null;

function readCart() {
  try {
    const items = JSON.parse(window.localStorage.getItem(config.cartKey) || '[]');
    if (!Array.isArray(items)) return [];
    return items.filter((i) => Number.isInteger(i?.id) && Number.isInteger(i?.quantity) && i.quantity > 0);
  } catch {
    return [];
  }
}

function notifyCart() {
  cartListeners.forEach((listener) => listener());
}

function writeCart(items) {
  cartCache = items;
  try {
    window.localStorage.setItem(config.cartKey, JSON.stringify(items));
  } catch {
    // storage full or blocked: the cart still lives for this page
  }
  notifyCart();
}

const getCart = () => (cartCache ??= readCart());

function subscribeCart(listener) {
  cartListeners.add(listener);
  return () => cartListeners.delete(listener);
}

window.addEventListener('storage', (event) => {
  if (event.key === config.cartKey || event.key === null) {
    cartCache = null; // another tab changed it
    notifyCart();
  }
});

export const useCart = () => useSyncExternalStore(subscribeCart, getCart);
export const cartCount = (items) => items.reduce((sum, item) => sum + item.quantity, 0);
export const clearCart = () => writeCart([]);
export const removeFromCart = (id) => writeCart(getCart().filter((item) => item.id !== id));

export function addToCart(id) {
  const items = getCart();
  const found = items.some((item) => item.id === id);
  writeCart(found
    ? items.map((item) => (item.id === id ? { ...item, quantity: item.quantity + 1 } : item))
    : [...items, { id, quantity: 1 }]);
}

// --- checkout details between the steps (sessionStorage: this tab only)
const CHECKOUT_KEY = 'sw_app_checkout';

export function readCheckout() {
  try {
    return JSON.parse(window.sessionStorage.getItem(CHECKOUT_KEY) || '{}') || {};
  } catch {
    return {};
  }
}

export function saveCheckout(details) {
  window.sessionStorage.setItem(CHECKOUT_KEY, JSON.stringify(details));
}

export const forgetCheckout = () => window.sessionStorage.removeItem(CHECKOUT_KEY);

// --- products: GET /api/products once per page load
let productsPromise = null;
let loadedProducts = null; // once loaded, pages render them on their first render

function loadProducts() {
  productsPromise ??= fetch('/api/products', { headers: { Accept: 'application/json' } })
    .then((response) => {
      if (!response.ok) throw new Error(`the product list answered HTTP ${response.status}`);
      return response.json();
    })
    .then((body) => (loadedProducts = body.products))
    .catch((error) => {
      productsPromise = null; // let the next attempt try again
      throw error;
    });
  return productsPromise;
}

export function useProducts() {
  const [state, setState] = useState({ products: loadedProducts, error: null });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (loadedProducts) return undefined;
    let live = true;
    loadProducts().then(
      (products) => live && setState({ products, error: null }),
      (error) => live && setState({ products: null, error: error.message }),
    );
    return () => {
      live = false;
    };
  }, [attempt]);
  return { ...state, retry: () => setAttempt((n) => n + 1) };
}

// The picture of a product; with app-wrong-image the first product gets the last one's.
export function imageFor(product, products, size) {
  let shown = product;
  if (faults.wrongImage && products.length > 1 && product.id === products[0].id) {
    shown = products[products.length - 1];
  }
  return size >= 600 ? shown.image : shown.thumbnail;
}

const euros = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });
export const money = (cents) => euros.format(cents / 100);
