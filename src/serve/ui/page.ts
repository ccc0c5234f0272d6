// The web UI's one HTML page (GET /ui). It holds no data and no key: the
// script (app.ts) asks for the user's API key, keeps it in sessionStorage, and
// calls the JSON API with it, so the key alone still decides whose adapter the
// page shows.

export const UI_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imprint</title>
<link rel="stylesheet" href="/ui/style.css">
<link rel="icon" href="/ui/favicon.svg" type="image/svg+xml">
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<header>
  <h1>imprint</h1>
  <span id="model" class="muted"></span>
  <form id="key-form" autocomplete="off">
    <label for="key">API key</label>
    <input id="key" type="password" placeholder="imp_..." spellcheck="false">
    <button id="use-key" type="submit">Use key</button>
  </form>
  <div id="who" hidden>
    <span>user <b id="user"></b></span>
    <span>adapter <b id="version">v?</b></span>
    <span id="queue" class="muted"></span>
    <button id="forget" type="button">Forget key</button>
  </div>
</header>
<p id="error" role="alert" hidden></p>
<main>
  <section id="chat-panel" class="panel">
    <h2>Chat <button id="new-chat" type="button" class="small">New conversation</button></h2>
    <ol id="messages"></ol>
    <p id="chat-note" class="muted" hidden></p>
    <form id="chat-form">
      <textarea id="prompt" rows="2" placeholder="Ask something..." disabled></textarea>
      <button id="send" type="submit" disabled>Send</button>
    </form>
  </section>
  <section id="side">
    <div class="panel">
      <h2>Feature activations <span id="act-meta" class="muted"></span></h2>
      <svg id="act-chart" role="img" aria-label="feature activations of the current reply"></svg>
      <div id="act-tokens" class="tokens"></div>
      <p class="note">Mean activation of each bundle feature over the reply's tokens at the bundle's hook point: with your adapter (coloured) and the base model (grey). Click a feature to see it per token.
        <button id="act-current" type="button" class="small" hidden>Recompute with the current adapter</button></p>
    </div>
    <div class="panel">
      <h2>Adapter drift per feature</h2>
      <svg id="drift-chart" role="img" aria-label="adapter norm along each feature per version"></svg>
      <div id="drift-legend" class="legend"></div>
      <p class="note">Per version: how much the adapted layers write along each feature's direction (norm, recorded by the learner at each update).</p>
    </div>
    <div class="panel">
      <h2>Learning curve</h2>
      <svg id="curve-chart" role="img" aria-label="loss and gate weight per update"></svg>
      <p class="note">Per trained update: the loss of the one experience the step trained on (blue) and the gate's weight on it (orange, 0 to 1), as the learner measured them at that step. Training-time numbers, not a held-out score.</p>
    </div>
    <div class="panel">
      <h2>Adapter history</h2>
      <table id="history">
        <thead><tr><th>version</th><th>made by</th><th>when</th><th>gate</th><th>loss</th><th>norm</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
</main>
</body>
</html>
`;
