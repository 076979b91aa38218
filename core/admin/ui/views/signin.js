import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';

export function SignIn({ notice, onSignedIn }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await api('/session', { method: 'POST', body: { token }, quiet401: true });
      const who = await api('/whoami', { quiet401: true });
      setToken('');
      onSignedIn(who);
    } catch (err) {
      setError(err.status === 401 ? 'That token is not the admin or the viewer token of this gateway.' : err.message);
    } finally {
      setBusy(false);
    }
  };

  return html`
    <main class="signin" id="main">
      <form class="card signin-card" onSubmit=${submit} aria-labelledby="signin-title">
        <h1 id="signin-title"><img src="/admin/assets/favicon.svg" alt="" width="28" height="28" /> Switchyard admin</h1>
        ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
        <label for="token">Admin or viewer token</label>
        <input id="token" name="token" type="password" autocomplete="off" required ref=${input}
          value=${token} onInput=${(e) => setToken(e.currentTarget.value)} aria-describedby="token-help" />
        <p id="token-help" class="help">
          The <b>admin</b> token can publish and roll back; the <b>viewer</b> token can only look.
          It is exchanged for a session cookie (12 hours) and not kept in the browser.
        </p>
        ${error ? html`<p class="error" role="alert">${error}</p>` : null}
        <button type="submit" class="btn primary" disabled=${busy || !token}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>`;
}
