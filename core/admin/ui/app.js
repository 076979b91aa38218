// The admin UI shell: session, navigation (hash routes), and the page for each section.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './lib/html.js';
import { api, whenUnauthorized } from './lib/api.js';
import { SignIn } from './views/signin.js';
import { Overview } from './views/overview.js';
import { Requests } from './views/requests.js';
import { Policies } from './views/policies.js';
import { Config } from './views/config.js';
import { Audit } from './views/audit.js';

const SECTIONS = [
  { path: 'overview', title: 'Overview', view: Overview, hint: 'Targets, health, traffic' },
  { path: 'requests', title: 'Requests', view: Requests, hint: 'Request log and attempts' },
  { path: 'policies', title: 'Policies', view: Policies, hint: 'Revisions, dry-run, publish' },
  { path: 'config', title: 'Config', view: Config, hint: 'Revisions, diff, publish' },
  { path: 'audit', title: 'Audit', view: Audit, hint: 'Who changed what, and why' },
];

/** "#/requests?id=abc" → { path: 'requests', params: URLSearchParams }. */
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  return { path: SECTIONS.some((s) => s.path === path) ? path : 'overview', params: new URLSearchParams(query ?? '') };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function App() {
  // undefined: checking; null: signed out; { role, can_write }: signed in.
  const [session, setSession] = useState(undefined);
  const [notice, setNotice] = useState('');
  const route = useRoute();

  useEffect(() => {
    whenUnauthorized((message) => {
      setNotice(message || 'Your session ended: sign in again.');
      setSession(null);
    });
    api('/whoami', { quiet401: true })
      .then(setSession)
      .catch((err) => {
        if (err.status !== 401) setNotice(err.message);
        setSession(null);
      });
  }, []);

  const section = SECTIONS.find((s) => s.path === route.path) ?? SECTIONS[0];
  useEffect(() => {
    document.title = session ? `${section.title} · Switchyard admin` : 'Sign in · Switchyard admin';
  }, [section, session]);

  if (session === undefined) return html`<p class="boot">Checking your session…</p>`;
  if (!session) {
    return html`<${SignIn} notice=${notice} onSignedIn=${(s) => { setNotice(''); setSession(s); }} />`;
  }

  const signOut = async () => {
    try {
      await api('/session', { method: 'DELETE' });
    } finally {
      setNotice('You signed out.');
      setSession(null);
    }
  };
  const View = section.view;
  return html`
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <div class="layout">
      <header class="topbar">
        <span class="brand"><img src="/admin/assets/favicon.svg" alt="" width="22" height="22" /> Switchyard <span class="muted">admin</span></span>
        <span class="spacer"></span>
        ${session.can_write
          ? html`<span class="role role-admin" title="Signed in with the admin token">Admin · can publish and roll back</span>`
          : html`<span class="role role-viewer" title="Signed in with the viewer token">Viewer · read only</span>`}
        <button type="button" class="btn" onClick=${signOut}>Sign out</button>
      </header>
      <nav class="sidebar" aria-label="Sections">
        <ul>
          ${SECTIONS.map((s) => html`<li>
            <a href=${`#/${s.path}`} aria-current=${s.path === section.path ? 'page' : undefined}>
              <span class="nav-title">${s.title}</span><span class="nav-hint">${s.hint}</span>
            </a>
          </li>`)}
        </ul>
      </nav>
      <main id="main" tabindex="-1">
        ${session.can_write ? null : html`<p class="banner" role="note">You are signed in with the <b>viewer</b> token: you can look at everything, and publishing, dry-run and rollback buttons are disabled.</p>`}
        <${View} key=${section.path} params=${route.params} session=${session} />
      </main>
    </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
