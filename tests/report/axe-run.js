// axe-run.js: load an HTML file in a running headless Chromium over the
// DevTools protocol, inject axe-core and print its violations as JSON.
// Usage: node axe-run.js PORT FILE AXE_MIN_JS
// Exit 0 when no violation is serious or critical, 1 when one is, 2 on error.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const WebSocket = require('ws');

const [port, file, axePath] = process.argv.slice(2);
const axeSrc = fs.readFileSync(axePath, 'utf8');

function getJSON(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => {
        try { resolve(JSON.parse(s)); } catch (e) { reject(e); }
      });
    }).on('error', reject);
  });
}

async function main() {
  const targets = await getJSON(`http://127.0.0.1:${port}/json/list`);
  const page = targets.find((t) => t.type === 'page');
  if (!page) throw new Error('no page target');
  const ws = new WebSocket(page.webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise((r, j) => { ws.on('open', r); ws.on('error', j); });
  let id = 0;
  const pending = new Map();
  const events = [];
  ws.on('message', (m) => {
    const msg = JSON.parse(m);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error)));
      else resolve(msg.result);
    } else if (msg.method) {
      events.push(msg.method);
    }
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const i = ++id;
    pending.set(i, { resolve, reject });
    ws.send(JSON.stringify({ id: i, method, params }));
  });
  await send('Page.enable');
  await send('Page.navigate', { url: 'file://' + path.resolve(file) });
  for (let i = 0; i < 100 && !events.includes('Page.loadEventFired'); i++)
    await new Promise((r) => setTimeout(r, 100));
  await send('Runtime.evaluate', { expression: axeSrc });
  const res = await send('Runtime.evaluate', {
    expression: 'axe.run(document, {resultTypes: ["violations"]})' +
      '.then(r => JSON.stringify({lang: document.documentElement.lang,' +
      ' svgs: document.querySelectorAll("svg").length,' +
      ' violations: r.violations.map(v => ({id: v.id, impact: v.impact,' +
      ' help: v.help, nodes: v.nodes.length,' +
      ' first: v.nodes[0] && v.nodes[0].html.slice(0, 200)}))}))',
    awaitPromise: true,
    returnByValue: true,
  });
  // The summary as printed: the page's content box is A4 less the
  // @page margins (210 - 2 * 14 mm wide, 297 - 15 - 17 mm high).
  const mm = 96 / 25.4;
  await send('Emulation.setEmulatedMedia', { media: 'print' });
  await send('Emulation.setDeviceMetricsOverride', {
    width: Math.round(182 * mm), height: Math.round(265 * mm),
    deviceScaleFactor: 1, mobile: false,
  });
  const sum = await send('Runtime.evaluate', {
    expression: '(() => { const s = document.querySelector(".summary");' +
      ' return s ? Math.ceil(s.getBoundingClientRect().bottom) : -1; })()',
    returnByValue: true,
  });
  ws.close();
  if (res.exceptionDetails) throw new Error(JSON.stringify(res.exceptionDetails));
  const out = JSON.parse(res.result.value);
  out.summary_bottom_px = sum.result.value;
  out.page_height_px = Math.floor(265 * mm);
  console.log(JSON.stringify(out, null, 1));
  const bad = out.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  process.exit(bad.length ? 1 : 0);
}

main().catch((e) => { console.error('axe-run: ' + e.message); process.exit(2); });
