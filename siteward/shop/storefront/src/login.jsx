// /app/login. Controlled inputs: validation reads React state, never the DOM, so a
// value that reached the DOM without an input event React saw counts as empty.
import { useState } from 'react';
import { BASE } from './config.js';
import { navigate } from './router.jsx';
import { logIn } from './store.js';

const ACCOUNTS = ['standard_user', 'locked_out_user', 'slow_user', 'error_user'];

export function Login() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    if (!username) return setError('Username is required');
    if (!password) return setError('Password is required');
    setBusy(true);
    setError('');
    try {
      const result = await logIn(username, password);
      if (result.ok) {
        navigate(`${BASE}/products`);
        return;
      }
      setError(result.error);
    } catch (failure) {
      setError(`Could not log in: ${failure.message}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="sf-main sf-login">
      <title>Log in | Siteward Storefront</title>
      <h1>Siteward Storefront</h1>
      <form className="sf-form" onSubmit={submit} noValidate data-test="login-form">
        <label htmlFor="sf-username">Username</label>
        <input id="sf-username" name="username" autoComplete="username" data-test="username"
               value={username} onChange={(e) => setUsername(e.target.value)} />
        <label htmlFor="sf-password">Password</label>
        <input id="sf-password" name="password" type="password" autoComplete="current-password"
               data-test="password" value={password} onChange={(e) => setPassword(e.target.value)} />
        {error && <p className="sf-error" role="alert" data-test="error">{error}</p>}
        <button type="submit" className="sf-button" data-test="login-button" disabled={busy}>
          Login
        </button>
      </form>
      <section className="sf-hint" data-test="login-credentials">
        <h2>Test accounts</h2>
        <p>{ACCOUNTS.join(', ')}</p>
        <p>Password for all: <code>secret_sauce</code></p>
      </section>
    </main>
  );
}
