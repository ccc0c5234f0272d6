// The web UI's stylesheet (GET /ui/style.css).

export const UI_STYLE = `
:root { --fg: #1d232b; --muted: #6a7480; --line: #d9dee4; --bg: #f6f7f9; --accent: #2f6fdf; --warn: #b3261e; font-family: system-ui, sans-serif; font-size: 14px; color: var(--fg); }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; padding: 10px 16px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
header form, #who { display: flex; align-items: center; gap: 8px; }
#who { margin-left: auto; gap: 14px; }
#key { width: 260px; font-family: ui-monospace, monospace; }
.muted { color: var(--muted); }
#error { margin: 8px 16px; padding: 8px 12px; background: #fdecea; color: var(--warn); border: 1px solid #f3b8b3; border-radius: 4px; }
main { display: grid; grid-template-columns: minmax(340px, 1fr) minmax(420px, 1.2fr); gap: 12px; padding: 12px 16px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin-bottom: 12px; }
h2 { font-size: 14px; margin: 0 0 8px; display: flex; align-items: center; gap: 8px; }
#chat-panel { display: flex; flex-direction: column; min-height: 520px; }
#messages { list-style: none; margin: 0; padding: 0; flex: 1; overflow-y: auto; max-height: 70vh; }
#messages li { margin: 6px 0; padding: 8px 10px; border-radius: 6px; white-space: pre-wrap; word-break: break-word; }
#messages li.user { background: #e8f0fe; margin-left: 15%; }
#messages li.assistant { background: #f1f3f4; margin-right: 10%; }
#messages li.selected { outline: 2px solid var(--accent); }
.meta { font-size: 11px; color: var(--muted); margin-top: 4px; white-space: normal; }
.actions { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; white-space: normal; }
.correction { display: flex; flex-direction: column; gap: 4px; margin-top: 6px; white-space: normal; }
.correction input, .correction textarea { font: inherit; }
#chat-form { display: flex; gap: 8px; margin-top: 8px; }
#chat-form textarea { flex: 1; font: inherit; resize: vertical; }
button { font: inherit; padding: 4px 10px; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
button.small { font-size: 12px; padding: 2px 8px; font-weight: normal; }
button.on { background: #e8f0fe; border-color: var(--accent); }
svg { width: 100%; display: block; }
svg text { font-size: 10px; fill: var(--muted); font-family: system-ui, sans-serif; }
svg .label { fill: var(--fg); cursor: pointer; }
svg .label.chosen { font-weight: bold; }
.note { font-size: 12px; color: var(--muted); margin: 6px 0 0; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 11px; margin-top: 4px; }
.legend .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.tokens { font-family: ui-monospace, monospace; font-size: 12px; line-height: 1.9; margin-top: 4px; }
.tokens span { padding: 1px 0; border-radius: 2px; white-space: pre; }
#history { width: 100%; border-collapse: collapse; font-size: 12px; }
#history th, #history td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); }
#history tr.current { background: #eef5ee; font-weight: bold; }
`;
