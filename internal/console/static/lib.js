// Helpers shared by the pages: building DOM without innerHTML (message
// keys and values come from anyone who can produce, so they are only ever
// text nodes), calling the API, formatting numbers and drawing charts.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace swaps the children of el, keeping el (and focus outside it).
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export class APIError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

// api calls the console's JSON API; state-changing calls carry the header
// the server requires of the page.
export async function api(method, path, body) {
  const init = { method, headers: {} };
  if (method !== 'GET') init.headers['X-Fjord-Console'] = '1';
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch('/console/api/' + path, init);
  let data = null;
  try { data = await resp.json(); } catch { /* not JSON: reported below */ }
  if (!resp.ok) {
    throw new APIError(data?.error || 'HTTP_' + resp.status, data?.message || resp.statusText);
  }
  return data;
}

export const enc = encodeURIComponent;

export function fmtNum(n) {
  if (n === undefined || n === null || n < 0) return '–';
  return Number(n).toLocaleString('en-US');
}

export function fmtBytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? Math.round(n) : n.toFixed(1)) + ' ' + units[i];
}

export function fmtRate(n, unit) {
  if (!n || n < 0.05) return '0 ' + unit + '/s';
  if (unit === 'B') return fmtBytes(n) + '/s';
  return (n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US')) + ' ' + unit + '/s';
}

export function fmtSeconds(s) {
  if (s === undefined || s === null || s < 0) return '–';
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return (s / 60).toFixed(1) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}

export function fmtTime(ms) {
  if (!ms || ms < 0) return '–';
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

// table renders rows with columns [{label, value: row => node|text, num}].
export function table(columns, rows, { empty = 'Nothing to show.', testid } = {}) {
  if (!rows.length) return h('div', { class: 'table-wrap' }, h('div', { class: 'empty' }, empty));
  return h('div', { class: 'table-wrap' },
    h('table', { 'data-testid': testid },
      h('thead', {}, h('tr', {}, columns.map(c => h('th', { class: c.num ? 'num' : '', scope: 'col' }, c.label)))),
      h('tbody', {}, rows.map(r => h('tr', {}, columns.map(c => h('td', { class: c.num ? 'num' : '' }, c.value(r))))))));
}

export function card(label, value, cls = '', testid) {
  return h('div', { class: 'card' }, h('div', { class: 'label' }, label),
    h('div', { class: 'value ' + cls, 'data-testid': testid }, value));
}

export function notice(text, cls = '') {
  return h('div', { class: 'notice ' + cls, role: cls === 'error' ? 'alert' : 'status' }, text);
}

export function errorText(err) {
  return err instanceof APIError ? `${err.code}: ${err.message}` : String(err.message || err);
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// lineChart draws series [{name, points: [{t, v}]}] over a shared time
// axis, each scaled to its own maximum (labelled on the left for the
// first series, on the right for the second).
// The chart is drawn at the pixel width of the box it goes in (width),
// so text keeps its size on a phone and on a wide screen.
export function lineChart(series, { format = [String, String], label = 'chart', width = 640 } = {}) {
  const W = Math.max(280, Math.round(width)), H = 180, L = 72, R = 72, T = 10, B = 24;
  const all = series.flatMap(x => x.points);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'chart', role: 'img', 'aria-label': label });
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * i / 4;
    svg.append(s('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'grid' }));
  }
  if (series.every(x => x.points.length < 2)) {
    svg.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis' }, 'collecting samples…'));
    return h('div', {}, svg);
  }
  const t0 = Math.min(...all.map(p => p.t)), t1 = Math.max(...all.map(p => p.t));
  const x = t => L + (W - L - R) * (t1 === t0 ? 1 : (t - t0) / (t1 - t0));
  series.forEach((ser, i) => {
    const peak = Math.max(0, ...ser.points.map(p => p.v));
    const top = peak > 0 ? peak * 1.1 : 1;
    const y = v => T + (H - T - B) * (1 - v / top);
    const pts = ser.points.map(p => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    svg.append(s('polyline', { points: pts, class: 's' + i }));
    const ax = i === 0 ? L - 6 : W - R + 6;
    const anchor = i === 0 ? 'end' : 'start';
    svg.append(s('text', { x: ax, y: T + 10, 'text-anchor': anchor, class: 'axis' }, format[i](top)));
    svg.append(s('text', { x: ax, y: H - B, 'text-anchor': anchor, class: 'axis' }, format[i](0)));
  });
  const tf = t => new Date(t).toISOString().slice(11, 19);
  svg.append(s('text', { x: L, y: H - 6, class: 'axis' }, tf(t0)));
  svg.append(s('text', { x: W - R, y: H - 6, 'text-anchor': 'end', class: 'axis' }, tf(t1)));
  return h('div', {}, svg, h('div', { class: 'legend' },
    series.map((ser, i) => h('span', { class: 'k' + i }, ser.name))));
}

// confirmButton is a delete button that asks again inline, so a stray
// Enter or click cannot delete.
export function confirmButton(text, question, action, testid) {
  const wrap = h('span', { class: 'confirm' });
  const ask = () => replace(wrap, h('span', {}, question),
    h('button', { class: 'danger', type: 'button', 'data-testid': testid + '-confirm', onclick: action }, 'Yes, ' + text.toLowerCase()),
    h('button', { type: 'button', onclick: reset }, 'Cancel'));
  const reset = () => replace(wrap, h('button', { class: 'danger', type: 'button', 'data-testid': testid, onclick: ask }, text));
  reset();
  return wrap;
}
