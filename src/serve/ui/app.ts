// The web UI's script (GET /ui/app.js), plain browser JavaScript kept as text so
// that tsc carries it into dist with no front-end build step. It calls only the
// public JSON API, with the key the user typed (kept in sessionStorage, sent as
// "Authorization: Bearer"); the server decides whose data that is. All text
// from the server or the user goes into the page through textContent or SVG
// attributes, never as markup. (Written with no template literals, so it can
// sit inside this String.raw.)

export const UI_SCRIPT = String.raw`'use strict';
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const KEY_ITEM = 'imprint.apiKey';
const POLL_MS = 2000;
const COLOURS = ['#2f6fdf', '#e8710a', '#188038', '#d93025', '#9334e6', '#12b5cb', '#b06000', '#e52592', '#5f6368', '#1a73e8', '#7cb342', '#8d6e63'];

const state = {
  key: null, model: null, version: null, conversation: [], features: null, activations: null, chosenFeature: 0,
  pollTimer: null, busy: false, lastDriftVersions: -1,
};

function el(tag, props, children) {
  const node = document.createElement(tag);
  if (props) for (const [k, v] of Object.entries(props)) {
    if (k === 'text') node.textContent = v;
    else if (k === 'className') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children || []) node.append(child);
  return node;
}
function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}
const fmt = (x, digits) => (x === null || x === undefined ? '-' : Number(x).toFixed(digits === undefined ? 3 : digits));

function showError(message) {
  const box = $('error');
  box.hidden = message === null;
  box.textContent = message === null ? '' : message;
}

class ApiFailure extends Error {
  constructor(status, body) {
    const e = body && body.error ? body.error : null;
    super(e ? e.message : 'the server answered ' + status);
    this.status = status;
    this.code = e ? e.code : null;
  }
}

async function api(method, path, body) {
  const headers = { authorization: 'Bearer ' + state.key };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch (e) { parsed = null; }
  if (!response.ok) throw new ApiFailure(response.status, parsed);
  return parsed;
}

// ---- key -------------------------------------------------------------------

async function useKey(key) {
  state.key = key;
  try {
    const models = await api('GET', '/v1/models');
    state.model = models.data[0].id;
    const adapter = await api('GET', '/v1/adapter?jobs=0');
    sessionStorage.setItem(KEY_ITEM, key);
    $('model').textContent = state.model + ' · bundle ' + models.data[0].imprint.bundle;
    $('user').textContent = adapter.user;
    $('key-form').hidden = true;
    $('who').hidden = false;
    $('prompt').disabled = false;
    $('send').disabled = false;
    showError(null);
    applyAdapter(adapter);
    await refreshFeatures();
  } catch (error) {
    state.key = null;
    sessionStorage.removeItem(KEY_ITEM);
    showError(error.status === 401 ? 'That API key was not accepted: ' + error.message : error.message);
  }
}

function forgetKey() {
  sessionStorage.removeItem(KEY_ITEM);
  location.reload();
}

// ---- chat ------------------------------------------------------------------

function addMessage(role, content) {
  const body = el('div', { className: 'text', text: content });
  const li = el('li', { className: role }, [body]);
  $('messages').append(li);
  li.scrollIntoView({ block: 'nearest' });
  return li;
}

async function streamReply(messages, onDelta) {
  const response = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: 'Bearer ' + state.key, 'content-type': 'application/json' },
    body: JSON.stringify({ model: state.model, messages, stream: true }),
  });
  if (!response.ok) {
    let parsed = null;
    try { parsed = await response.json(); } catch (e) { parsed = null; }
    throw new ApiFailure(response.status, parsed);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const result = { id: null, version: null, text: '' };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return result;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        result.id = chunk.id;
        if (chunk.imprint) result.version = chunk.imprint.adapter_version;
        const delta = chunk.choices && chunk.choices[0] ? chunk.choices[0].delta.content : undefined;
        if (delta) { result.text += delta; onDelta(result.text); }
      }
    }
  }
  return result;
}

async function send(event) {
  event.preventDefault();
  const prompt = $('prompt').value.trim();
  if (prompt === '' || state.busy) return;
  state.busy = true;
  $('send').disabled = true;
  $('prompt').value = '';
  showError(null);
  addMessage('user', prompt);
  state.conversation.push({ role: 'user', content: prompt });
  const li = addMessage('assistant', '');
  const text = li.querySelector('.text');
  // The model's context is short: when the conversation no longer fits, the oldest exchanges are left out.
  let from = 0;
  try {
    for (;;) {
      try {
        const reply = await streamReply(state.conversation.slice(from), (sofar) => { text.textContent = sofar; });
        state.conversation.push({ role: 'assistant', content: reply.text });
        finishReply(li, reply);
        $('chat-note').hidden = from === 0;
        $('chat-note').textContent = from === 0 ? '' : 'The oldest ' + (from / 2) + ' exchange(s) were left out to fit the model\'s context.';
        break;
      } catch (error) {
        if (error.code === 'context_length_exceeded' && state.conversation.length - from > 1) { from += 2; continue; }
        throw error;
      }
    }
  } catch (error) {
    state.conversation.pop();
    li.remove();
    showError(error.message);
  } finally {
    state.busy = false;
    $('send').disabled = false;
  }
  // A new message turns the previous reply into an experience (reaction "none"): the queue may have work.
  void refreshAdapter();
}

function finishReply(li, reply) {
  li.dataset.completion = reply.id;
  const status = el('span', { className: 'feedback-status muted' });
  const meta = el('div', { className: 'meta', text: 'adapter v' + reply.version + ' · ' + reply.id });
  const react = (reaction) => async () => {
    try {
      const answer = await api('POST', '/v1/feedback', { completion_id: reply.id, reaction });
      status.textContent = (reaction === 'up' ? 'thumbs up' : 'thumbs down') + ' sent (job ' + answer.job.id + ')';
      schedulePoll(0);
    } catch (error) { showError(error.message); }
  };
  const correction = el('form', { className: 'correction', hidden: '' }, [
    el('input', { name: 'text', placeholder: 'What was wrong? e.g. Get to the point.', required: '' }),
    el('textarea', { name: 'reply', rows: '2', placeholder: 'The reply you wanted (optional)' }),
    el('button', { type: 'submit', text: 'Send correction' }),
  ]);
  correction.addEventListener('submit', async (event) => {
    event.preventDefault();
    const what = correction.elements.text.value.trim();
    const wanted = correction.elements.reply.value.trim();
    if (what === '') return;
    try {
      const body = { completion_id: reply.id, reaction: 'correction', text: what };
      if (wanted !== '') body.corrected_reply = wanted;
      const answer = await api('POST', '/v1/feedback', body);
      status.textContent = 'correction sent (job ' + answer.job.id + ')';
      correction.hidden = true;
      schedulePoll(0);
    } catch (error) { showError(error.message); }
  });
  const actions = el('div', { className: 'actions' }, [
    el('button', { type: 'button', className: 'small thumbs-up', text: '\u25B2 up', title: 'thumbs up', onclick: react('up') }),
    el('button', { type: 'button', className: 'small thumbs-down', text: '\u25BC down', title: 'thumbs down', onclick: react('down') }),
    el('button', { type: 'button', className: 'small correct', text: 'Correct\u2026', onclick: () => { correction.hidden = !correction.hidden; } }),
    el('button', { type: 'button', className: 'small show-features', text: 'Features', onclick: () => loadActivations(reply.id, null, li) }),
    status,
  ]);
  li.append(meta, actions, correction);
  void loadActivations(reply.id, null, li);
}

function newConversation() {
  state.conversation = [];
  $('messages').replaceChildren();
  $('chat-note').hidden = true;
}

// ---- feature activations of a reply ----------------------------------------

async function loadActivations(completionId, version, li) {
  try {
    const query = version === null ? '' : '?version=' + version;
    state.activations = await api('GET', '/v1/chat/completions/' + encodeURIComponent(completionId) + '/features' + query);
    for (const other of document.querySelectorAll('#messages li.selected')) other.classList.remove('selected');
    if (li) li.classList.add('selected');
    drawActivations();
  } catch (error) { showError(error.message); }
}

function drawActivations() {
  const a = state.activations;
  const svg = $('act-chart');
  svg.replaceChildren();
  if (!a) return;
  $('act-meta').textContent = a.tokens.length + ' tokens at ' + a.hook_point + ', adapter v' + a.adapter_version
    + (a.reply_version !== null && a.reply_version !== a.adapter_version ? ' (the reply came from v' + a.reply_version + ')' : '');
  const current = $('act-current');
  current.hidden = state.version === null || a.adapter_version === state.version;
  const rowH = 16, labelW = 230, width = 600, top = 14;
  const height = top + a.features.length * rowH + 6;
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
  svg.dataset.completion = a.completion_id;
  svg.dataset.version = String(a.adapter_version);
  let extent = 1e-6;
  for (const f of a.features) extent = Math.max(extent, Math.abs(f.mean || 0), Math.abs(f.base_mean || 0));
  const mid = labelW + (width - labelW) / 2, half = (width - labelW) / 2 - 8;
  svg.append(svgEl('line', { x1: mid, x2: mid, y1: top - 4, y2: height, stroke: '#9aa0a6' }));
  svg.append(svgEl('text', { x: mid, y: 9, 'text-anchor': 'middle' }, '0'));
  svg.append(svgEl('text', { x: width - 4, y: 9, 'text-anchor': 'end' }, '+' + fmt(extent, 2)));
  svg.append(svgEl('text', { x: labelW + 4, y: 9 }, '-' + fmt(extent, 2)));
  a.features.forEach((f, j) => {
    const y = top + j * rowH;
    const short = f.label.length > 36 ? f.label.slice(0, 35) + '\u2026' : f.label;
    const label = svgEl('text', { x: labelW - 6, y: y + 11, 'text-anchor': 'end', class: 'label' + (j === state.chosenFeature ? ' chosen' : '') }, short);
    label.append(svgEl('title', {}, f.label + ': mean ' + fmt(f.mean) + ' with the adapter, ' + fmt(f.base_mean) + ' base'));
    label.addEventListener('click', () => { state.chosenFeature = j; drawActivations(); });
    svg.append(label);
    const bar = (value, colour, dy, h) => {
      if (value === null) return;
      const w = Math.abs(value) / extent * half;
      svg.append(svgEl('rect', { x: value >= 0 ? mid : mid - w, y: y + dy, width: Math.max(w, 0.5), height: h, fill: colour, class: 'bar' }));
    };
    bar(f.base_mean, '#c4c7c5', 1, 6);
    bar(f.mean, COLOURS[j % COLOURS.length], 7, 7);
  });
  drawTokens();
}

function drawTokens() {
  const a = state.activations;
  const box = $('act-tokens');
  box.replaceChildren();
  if (!a || a.features.length === 0) return;
  const f = a.features[Math.min(state.chosenFeature, a.features.length - 1)];
  let extent = 1e-6;
  for (const v of f.activations) extent = Math.max(extent, Math.abs(v));
  box.append(el('div', { className: 'muted', text: f.label + ' per token (blue: positive, red: negative; max |a| ' + fmt(extent, 2) + ')' }));
  a.tokens.forEach((token, t) => {
    const v = f.activations[t];
    const span = el('span', { text: token, title: fmt(v) + ' (base ' + fmt(f.base_activations[t]) + ')' });
    const alpha = Math.min(1, Math.abs(v) / extent) * 0.6;
    span.style.background = v >= 0 ? 'rgba(47,111,223,' + alpha + ')' : 'rgba(217,48,37,' + alpha + ')';
    box.append(span);
  });
}

// ---- adapter: version, queue, drift, curve, history -------------------------

function applyAdapter(adapter) {
  const changed = state.version !== adapter.current_version;
  state.version = adapter.current_version;
  $('version').textContent = 'v' + adapter.current_version;
  const q = adapter.queue;
  const waiting = q.pending + q.running;
  $('queue').textContent = waiting > 0 ? 'learning: ' + waiting + ' job(s) queued' : 'queue idle (' + q.done + ' done, ' + q.failed + ' failed)';
  $('act-current').hidden = !state.activations || state.activations.adapter_version === state.version;
  return { changed, waiting };
}

async function refreshAdapter() {
  try {
    const { changed, waiting } = applyAdapter(await api('GET', '/v1/adapter?jobs=0'));
    if (changed) await refreshFeatures();
    if (waiting > 0) schedulePoll(POLL_MS);
  } catch (error) {
    if (error.status === 429) schedulePoll(5000);
    else showError(error.message);
  }
}

function schedulePoll(ms) {
  if (state.pollTimer !== null) clearTimeout(state.pollTimer);
  state.pollTimer = setTimeout(() => { state.pollTimer = null; void refreshAdapter(); }, ms);
}

async function refreshFeatures() {
  state.features = await api('GET', '/v1/adapter/features');
  drawDrift();
  drawCurve();
  drawHistory();
}

function axes(svg, box, xs, yMin, yMax, xLabel) {
  const { left, right, top, bottom, width, height } = box;
  svg.append(svgEl('line', { x1: left, x2: width - right, y1: height - bottom, y2: height - bottom, stroke: '#9aa0a6' }));
  svg.append(svgEl('line', { x1: left, x2: left, y1: top, y2: height - bottom, stroke: '#9aa0a6' }));
  svg.append(svgEl('text', { x: left - 4, y: top + 4, 'text-anchor': 'end' }, fmt(yMax, 2)));
  svg.append(svgEl('text', { x: left - 4, y: height - bottom, 'text-anchor': 'end' }, fmt(yMin, 2)));
  svg.append(svgEl('text', { x: (left + width - right) / 2, y: height - 2, 'text-anchor': 'middle' }, xLabel));
  const xMin = Math.min.apply(null, xs), xMax = Math.max.apply(null, xs);
  const sx = (x) => left + (xMax === xMin ? 0.5 : (x - xMin) / (xMax - xMin)) * (width - left - right);
  const sy = (y) => height - bottom - (yMax === yMin ? 0.5 : (y - yMin) / (yMax - yMin)) * (height - top - bottom);
  const every = Math.ceil(xs.length / 12);
  xs.forEach((x, i) => { if (i % every === 0 || i === xs.length - 1) svg.append(svgEl('text', { x: sx(x), y: height - bottom + 11, 'text-anchor': 'middle' }, String(x))); });
  return { sx, sy };
}

function polyline(svg, points, colour, className, title) {
  if (points.length === 0) return;
  const line = svgEl('polyline', { points: points.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' '), fill: 'none', stroke: colour, 'stroke-width': 1.5, class: className });
  svg.append(line);
  for (const p of points) {
    const dot = svgEl('circle', { cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 2.5, fill: colour, class: className });
    dot.append(svgEl('title', {}, title(p)));
    svg.append(dot);
  }
}

function drawDrift() {
  const data = state.features;
  const svg = $('drift-chart');
  svg.replaceChildren();
  const box = { left: 44, right: 10, top: 8, bottom: 26, width: 600, height: 200 };
  svg.setAttribute('viewBox', '0 0 ' + box.width + ' ' + box.height);
  const rows = data.versions.filter((v) => v.by_feature !== null);
  const ids = data.features.filter((f) => f.in_basis).map((f) => f.id);
  let yMax = 1e-9;
  for (const r of rows) for (const id of ids) yMax = Math.max(yMax, r.by_feature[id] || 0);
  svg.dataset.versions = String(rows.length);
  svg.dataset.signature = rows.map((r) => r.version + ':' + ids.map((id) => fmt(r.by_feature[id] || 0, 6)).join(',')).join(';');
  const legend = $('drift-legend');
  legend.replaceChildren();
  if (rows.length === 0) return;
  const { sx, sy } = axes(svg, box, rows.map((r) => r.version), 0, yMax, 'adapter version');
  ids.forEach((id, j) => {
    const colour = COLOURS[j % COLOURS.length];
    const label = (data.features.find((f) => f.id === id) || { label: id }).label;
    polyline(svg, rows.map((r) => [sx(r.version), sy(r.by_feature[id] || 0), r.version, r.by_feature[id] || 0]), colour, 'drift', (p) => label + ' v' + p[2] + ': ' + fmt(p[3], 4));
    legend.append(el('span', {}, [el('span', { className: 'swatch' }), document.createTextNode(label)]));
    legend.lastChild.firstChild.style.background = colour;
  });
}

function drawCurve() {
  const points = state.features.updates;
  const svg = $('curve-chart');
  svg.replaceChildren();
  const box = { left: 44, right: 10, top: 8, bottom: 26, width: 600, height: 170 };
  svg.setAttribute('viewBox', '0 0 ' + box.width + ' ' + box.height);
  svg.dataset.updates = String(points.length);
  if (points.length === 0) {
    svg.append(svgEl('text', { x: box.width / 2, y: box.height / 2, 'text-anchor': 'middle' }, 'no trained update yet: give feedback on a reply'));
    return;
  }
  const losses = points.filter((p) => p.loss !== null);
  let yMin = 0, yMax = 1;
  for (const p of losses) { yMin = Math.min(yMin, p.loss); yMax = Math.max(yMax, p.loss); }
  const { sx, sy } = axes(svg, box, points.map((p) => p.version), yMin, yMax, 'adapter version made by the update');
  polyline(svg, losses.map((p) => [sx(p.version), sy(p.loss), p]), '#2f6fdf', 'loss', (p) => 'v' + p[2].version + ' loss ' + fmt(p[2].loss) + ' (' + p[2].reaction + ')');
  polyline(svg, points.filter((p) => p.gate_weight !== null).map((p) => [sx(p.version), sy(p.gate_weight), p]), '#e8710a', 'gate', (p) => 'v' + p[2].version + ' gate weight ' + fmt(p[2].gate_weight));
}

function drawHistory() {
  const data = state.features;
  const updates = new Map(data.updates.map((u) => [u.version, u]));
  const body = $('history').querySelector('tbody');
  body.replaceChildren();
  for (const v of data.versions.slice().reverse()) {
    const u = updates.get(v.version);
    const made = v.rollback_of !== null ? v.made_by + ' to v' + v.rollback_of : v.made_by;
    const button = el('button', { type: 'button', className: 'small rollback', text: v.current ? 'current' : 'Roll back to this', 'data-version': String(v.version) });
    if (v.current) button.disabled = true;
    else button.addEventListener('click', () => rollback(v.version));
    const when = v.created ? new Date(v.created).toLocaleTimeString() : '-';
    body.append(el('tr', { className: v.current ? 'current' : '', 'data-version': String(v.version) }, [
      el('td', { text: 'v' + v.version }), el('td', { text: made }), el('td', { text: when }),
      el('td', { text: u ? fmt(u.gate_weight, 2) : '' }), el('td', { text: u ? fmt(u.loss) : '' }), el('td', { text: fmt(v.norm_total, 4) }), el('td', {}, [button]),
    ]));
  }
}

async function rollback(version) {
  try {
    await api('POST', '/v1/adapter/rollback', { version });
    await refreshAdapter();
  } catch (error) { showError(error.message); }
}

// ---- start -----------------------------------------------------------------

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('key').value.trim();
  $('key').value = '';
  if (key !== '') void useKey(key);
});
$('forget').addEventListener('click', forgetKey);
$('chat-form').addEventListener('submit', send);
$('prompt').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); $('chat-form').requestSubmit(); }
});
$('new-chat').addEventListener('click', newConversation);
$('act-current').addEventListener('click', () => {
  if (state.activations) void loadActivations(state.activations.completion_id, state.version, document.querySelector('#messages li.selected'));
});
const saved = sessionStorage.getItem(KEY_ITEM);
if (saved !== null) void useKey(saved);
`;
