// The widget's stylesheet, scoped by its shadow root. Theme through the --rj-* custom properties
// on the host element (#rejoinder); data-theme="dark" or the reader's dark preference switches.
// :host rules carry !important so a host page's "* { display: none !important }" cannot reach in.

const LIGHT = `--rj-bg:#ffffff;--rj-fg:#1d2125;--rj-muted:#59616b;--rj-border:#d5d9de;--rj-surface:#f4f6f8;
--rj-accent:#1b5fc1;--rj-accent-fg:#ffffff;--rj-focus:#1b5fc1;--rj-danger:#b3261e;--rj-ok:#1e6b36;
--rj-warn-bg:#fff4d6;--rj-warn-fg:#5c4300;--rj-mark:#fde68a;--rj-quote:#6b4f00;`;
const DARK = `--rj-bg:#16191d;--rj-fg:#e8eaed;--rj-muted:#a7afb9;--rj-border:#3a4048;--rj-surface:#20252b;
--rj-accent:#8ab4f8;--rj-accent-fg:#0b1d38;--rj-focus:#8ab4f8;--rj-danger:#f2b8b5;--rj-ok:#8fd19e;
--rj-warn-bg:#3d3210;--rj-warn-fg:#f5dd9b;--rj-mark:#6b5a1e;--rj-quote:#f5dd9b;`;

export const CSS = `
:host{all:initial!important;display:block!important;visibility:visible!important;opacity:1!important;
position:static!important;${LIGHT}
--rj-font:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Hebrew",Arial,sans-serif;
--rj-radius:8px;--rj-size:16px}
:host([data-theme=dark]){${DARK}}
@media (prefers-color-scheme:dark){:host(:not([data-theme=light])){${DARK}}}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
.rj{display:block;font:400 var(--rj-size)/1.5 var(--rj-font);color:var(--rj-fg);background:var(--rj-bg);
padding:16px;border-radius:var(--rj-radius);text-align:start}
button,input,select,textarea{font:inherit;color:inherit}
a{color:var(--rj-accent)}
:focus-visible{outline:3px solid var(--rj-focus);outline-offset:2px}
.sr{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.head{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:8px;
border-bottom:2px solid var(--rj-border);padding-bottom:8px;margin-bottom:16px}
h2{font-size:1.25em;margin:0;font-weight:700}
.sort{display:flex;gap:4px}
.btn{cursor:pointer;border:1px solid var(--rj-border);background:var(--rj-bg);border-radius:6px;
padding:4px 10px;font-size:.875em;line-height:1.6}
.btn:hover{border-color:var(--rj-accent)}
.btn[aria-pressed=true]{background:var(--rj-accent);color:var(--rj-accent-fg);border-color:var(--rj-accent)}
.btn.primary{background:var(--rj-accent);color:var(--rj-accent-fg);border-color:var(--rj-accent);font-weight:600;padding:6px 16px}
.btn:disabled{opacity:.6;cursor:default}
.link{cursor:pointer;border:0;background:none;padding:2px 4px;font-size:.875em;color:var(--rj-muted);border-radius:4px}
.link:hover{color:var(--rj-accent);text-decoration:underline}
.form{display:grid;gap:8px;margin:0 0 16px}
.form textarea,.form input,.form select,.edit textarea,.report textarea,.auth input{width:100%;border:1px solid var(--rj-border);
border-radius:6px;background:var(--rj-bg);padding:8px;min-height:2.5em}
textarea{resize:vertical;min-height:5em!important}
.fields{display:flex;flex-wrap:wrap;gap:8px}
.fields label{flex:1 1 12em;display:grid;gap:2px;font-size:.8125em;color:var(--rj-muted)}
.in .guest{display:none}
.acct{margin:0 0 12px}
.acct .row{gap:4px 8px}
.who{font-size:.875em;font-weight:600}
.panel{margin-top:8px}
.auth{display:grid;gap:8px;max-width:24em;border:1px solid var(--rj-border);border-radius:6px;padding:12px}
.auth h3{margin:0;font-size:1em}
.auth label{display:grid;gap:2px;font-size:.8125em;color:var(--rj-muted)}
.auth input{color:var(--rj-fg);font-size:1rem}
.btn.danger{color:var(--rj-danger);border-color:var(--rj-danger)}
.note{margin:8px 0 0;padding:8px 12px;border-radius:6px;background:var(--rj-surface);font-size:.875em}
.fields input,.fields select{color:var(--rj-fg);font-size:1rem}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:8px}
.grow{flex:1}
.hint{font-size:.8125em;color:var(--rj-muted);margin:0}
.preview{border:1px dashed var(--rj-border);border-radius:6px;padding:8px;min-height:5em;overflow-wrap:anywhere}
.preview p,.body p{margin:0 0 .5em}
.error{color:var(--rj-danger);margin:0;font-size:.875em}
.error:empty,.status:empty,.note:empty{display:none}
.status{margin:0 0 12px;padding:8px 12px;border-radius:6px;background:var(--rj-surface);font-size:.875em}
.chip{display:flex;gap:8px;align-items:flex-start;background:var(--rj-surface);border-inline-start:3px solid var(--rj-mark);
padding:6px 8px;border-radius:4px;font-size:.875em}
.quote{margin:4px 0 8px;padding:4px 10px;border-inline-start:3px solid var(--rj-mark);color:var(--rj-quote);
background:var(--rj-surface);font-style:italic;font-size:.9375em;border-radius:2px}
.new{position:sticky;top:8px;z-index:1;display:block;margin:0 auto 12px;border-radius:999px;
background:var(--rj-accent);color:var(--rj-accent-fg);border:0;padding:6px 16px;cursor:pointer;font-weight:600}
.c{margin:0 0 12px}
.c.fresh>.card{animation:rj-fresh 2s ease-out}
@keyframes rj-fresh{from{background:var(--rj-mark)}to{background:transparent}}
@media (prefers-reduced-motion:reduce){.c.fresh>.card{animation:none}}
.card{border-radius:6px;padding:4px 0}
.meta{display:flex;flex-wrap:wrap;gap:4px 8px;align-items:baseline;font-size:.875em;color:var(--rj-muted)}
.author{font-weight:700;color:var(--rj-fg);font-size:1rem}
.badge{font-size:.75em;border:1px solid var(--rj-border);border-radius:4px;padding:0 4px}
.body{overflow-wrap:anywhere;margin:4px 0}
.body pre{overflow:auto;background:var(--rj-surface);padding:8px;border-radius:4px}
.body blockquote,.preview blockquote{margin:0 0 .5em;padding-inline-start:10px;border-inline-start:3px solid var(--rj-border);color:var(--rj-muted)}
.body img{max-width:100%}
.pending{background:var(--rj-warn-bg);color:var(--rj-warn-fg);padding:4px 8px;border-radius:4px;font-size:.875em;margin:4px 0}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:2px}
.vote{cursor:pointer;border:1px solid transparent;background:none;border-radius:4px;padding:0 6px;color:var(--rj-muted);font-size:1em;line-height:1.6}
.vote[aria-pressed=true]{color:var(--rj-accent);border-color:var(--rj-accent)}
.score{min-width:1.5em;text-align:center;font-weight:600;font-size:.875em}
.slot:empty{display:none}
.slot{margin:8px 0}
.replies{margin-inline-start:24px;padding-inline-start:12px;border-inline-start:2px solid var(--rj-border)}
.replies.flat{margin-inline-start:0;padding-inline-start:0;border:0}
.toggle{margin:0 0 8px}
.more{display:block;width:100%;margin-top:8px}
.report fieldset{border:1px solid var(--rj-border);border-radius:6px;margin:0;padding:8px;display:grid;gap:4px}
.report legend{font-size:.875em;font-weight:600;padding:0 4px}
.report label{font-size:.875em}
.support{border:1px solid var(--rj-border);background:var(--rj-surface);border-radius:var(--rj-radius);padding:12px;margin:0 0 16px}
.support p{margin:0 0 8px}
.support a{display:inline-block;margin-inline-end:8px;padding:4px 12px;border-radius:999px;border:1px solid var(--rj-accent);text-decoration:none;font-weight:600}
.muted{color:var(--rj-muted)}
`;
