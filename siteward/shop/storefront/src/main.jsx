// The storefront's entry: picks the page from the URL and mounts React on #root.
import { createRoot } from 'react-dom/client';
import './app.css';
import { CheckoutComplete, CheckoutInfo, CheckoutOverview, CartPage } from './checkout.jsx';
import { ProductPage, Products } from './catalogue.jsx';
import { BASE } from './config.js';
import { ErrorBoundary, NotFound, RequireSession } from './layout.jsx';
import { Login } from './login.jsx';
import { Redirect, matchRoute, usePath } from './router.jsx';
import { readSession } from './store.js';

// [path pattern under BASE, page component, needs a session]
const ROUTES = [
  ['/login', Login, false],
  ['/products', Products, true],
  ['/product/:slug', ProductPage, true],
  ['/cart', CartPage, true],
  ['/checkout/info', CheckoutInfo, true],
  ['/checkout/overview', CheckoutOverview, true],
  ['/checkout/complete', CheckoutComplete, true],
];

function findRoute(path) {
  for (const [pattern, Screen, guarded] of ROUTES) {
    const params = matchRoute(pattern, path, BASE);
    if (params) return { Screen, guarded, params };
  }
  return null;
}

function App() {
  const path = usePath();
  if (path === BASE || path === `${BASE}/`) {
    return <Redirect to={readSession() ? `${BASE}/products` : `${BASE}/login`} />;
  }
  const route = findRoute(path);
  if (!route) return <NotFound />;
  const { Screen, guarded, params } = route;
  return (
    <ErrorBoundary key={path}>
      {guarded
        ? <RequireSession>{(session) => <Screen session={session} {...params} />}</RequireSession>
        : <Screen {...params} />}
    </ErrorBoundary>
  );
}

createRoot(document.getElementById('root')).render(<App />);
