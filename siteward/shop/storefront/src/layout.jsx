// Page frame shared by the logged-in pages: session guard, header with cart badge,
// error boundary.
import { Component, useEffect } from 'react';
import { BASE } from './config.js';
import { Link, navigate } from './router.jsx';
import { cartCount, logOut, readSession, useCart } from './store.js';

// Checks document.cookie on every render (so on every navigation) and sends a
// visitor without a live session to the login page (history replace).
export function RequireSession({ children }) {
  const session = readSession();
  const user = session?.user;
  useEffect(() => {
    if (!user) navigate(`${BASE}/login`, { replace: true });
  }, [user]);
  return user ? children(session) : null;
}

export function Header({ user }) {
  const count = cartCount(useCart());
  function leave() {
    logOut();
    navigate(`${BASE}/login`);
  }
  return (
    <header className="sf-header" data-test="header">
      <Link href={`${BASE}/products`} className="sf-brand" data-test="products-link">
        Siteward Storefront
      </Link>
      <nav className="sf-nav">
        <span className="sf-user" data-test="user">{user}</span>
        {/* The accessible name holds the visible text ("Cart 2"; WCAG 2.5.3). */}
        <Link href={`${BASE}/cart`} className="sf-cart" data-test="cart-link">
          Cart
          {count > 0 && <span className="sf-badge" data-test="cart-badge">{count}</span>}
          <span className="sf-visually-hidden">{count === 0 ? ', empty' : count === 1 ? ' item' : ' items'}</span>
        </Link>
        <button type="button" className="sf-link-button" data-test="logout" onClick={leave}>
          Log out
        </button>
      </nav>
    </header>
  );
}

// React 19 hoists <title> and <link> into <head>; the canonical URL is the route without its query.
export function Page({ title, user, children }) {
  return (
    <>
      <title>{`${title} | Siteward Storefront`}</title>
      <link rel="canonical" href={window.location.origin + window.location.pathname} />
      <Header user={user} />
      <main className="sf-main">{children}</main>
    </>
  );
}

// Shows what broke instead of a blank page. React logs the caught error with
// console.error; we also rethrow it outside React, so it is an uncaught page error too.
export class ErrorBoundary extends Component {
  state = { error: null };

  static getDerivedStateFromError(error) {
    return { error };
  }

  componentDidCatch(error) {
    window.setTimeout(() => {
      throw error;
    }, 0);
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div className="sf-boundary" role="alert" data-test="error-boundary">
        <h2>Something went wrong on this page.</h2>
        <p>{String(error?.message || error)}</p>
      </div>
    );
  }
}

export function NotFound() {
  return (
    <main className="sf-main">
      <title>Page not found | Siteward Storefront</title>
      <h1 data-test="not-found">Page not found</h1>
      <p><Link href={`${BASE}/products`}>Back to the products</Link></p>
    </main>
  );
}
