// Config: the same lifecycle as policies (revisions, diff, publish, rollback) for the whole
// gateway config. Literal secrets are redacted by the server and must not be published back.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { revName, shortId } from '../lib/format.js';
import { WriteButton } from './parts.js';
import { NoteField, Outcome, RevisionsWorkspace } from './revisions.js';

function ConfigEditor({ list, session, onChanged }) {
  const active = list.revisions.find((r) => r.active);
  const [source, setSource] = useState(null);
  const [name, setName] = useState(active ? revName(active) : 'switchyard.yaml');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [out, setOut] = useState({});
  useEffect(() => {
    if (source !== null || !active) return;
    api(`/config/revisions/${active.id}`).then((r) => setSource((s) => s ?? r.source)).catch(() => setSource(''));
  }, [active?.id]);
  const redacted = (source ?? '').includes('[redacted]');
  const publish = async () => {
    setBusy(true);
    setOut({});
    try {
      const r = await api('/config/publish', { method: 'POST', body: { source, file_name: name || undefined, note: note || undefined } });
      setOut({ result: { text: r.changed ? `Published config ${shortId(r.id)}: the gateway applies it within a second (server, plugins, keys and admin settings need a restart).` : 'Nothing changed: this config is already active.' } });
      setNote('');
      onChanged();
    } catch (error) {
      setOut({ error });
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="editor-grid">
    <div class="editor-main">
      <div class="field">
        <label for="config-source">Config source (YAML or JSON; <code>\${ENV}</code> references expand on the gateway)</label>
        <textarea id="config-source" class="code" spellcheck="false" wrap="off" rows="20" value=${source ?? ''} onInput=${(e) => setSource(e.currentTarget.value)}></textarea>
      </div>
    </div>
    <div class="editor-side">
      <div class="card inset" aria-labelledby="cfg-pub-title">
        <h3 id="cfg-pub-title">Publish this config</h3>
        <div class="field"><label for="cfg-name">File name (YAML or JSON is read by its extension)</label>
          <input id="cfg-name" type="text" value=${name} onInput=${(e) => setName(e.currentTarget.value)} disabled=${!session.can_write} /></div>
        <${NoteField} id="cfg-note" value=${note} onInput=${setNote} session=${session} />
        ${redacted ? html`<p class="warn-text" role="note">This source shows <code>[redacted]</code> where the stored config has a literal secret. Replace each with an <code>\${ENV}</code> reference (or the real value) before publishing, or the gateway would use the word “[redacted]” as the key.</p>` : null}
        <${WriteButton} session=${session} busy=${busy} onClick=${publish} disabled=${!source || redacted}>Publish config</${WriteButton}>
        <${Outcome} ...${out} />
      </div>
    </div>
  </div>`;
}

export function Config({ params, session }) {
  return html`<${RevisionsWorkspace} scope="config" params=${params} session=${session} title="Config"
    intro="The gateway config is revisioned like policies: every publish is an immutable revision, the active one is served, and a rollback moves back without a restart. Literal secrets are shown as [redacted]."
    editTitle="Edit & publish" Editor=${ConfigEditor} />`;
}
