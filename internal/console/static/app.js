// The router: a hash route picks a page; the page builds its skeleton once
// and the router calls its refresh every few seconds, so the data updates
// without reloads while forms keep what was typed.
import { api, replace, errorText } from './lib.js';
import { overviewPage } from './pages/overview.js';
import { topicsPage, topicPage } from './pages/topics.js';
import { messagesPage } from './pages/messages.js';
import { producePage } from './pages/produce.js';
import { groupsPage, groupPage } from './pages/groups.js';
import { brokersPage } from './pages/brokers.js';
import { securityPage } from './pages/security.js';

const POLL_MS = 3000;

const routes = [
  [/^\/overview$/, 'overview', overviewPage],
  [/^\/topics$/, 'topics', topicsPage],
  [/^\/topics\/([^/]+)$/, 'topics', topicPage],
  [/^\/messages(?:\/([^/]+))?$/, 'messages', messagesPage],
  [/^\/produce(?:\/([^/]+))?$/, 'produce', producePage],
  [/^\/groups$/, 'groups', groupsPage],
  [/^\/groups\/(.+)$/, 'groups', groupPage],
  [/^\/brokers(?:\/(\d+))?$/, 'brokers', brokersPage],
  [/^\/security$/, 'security', securityPage],
];

let current = null; // { timer, alive }

function route() {
  const path = location.hash.replace(/^#/, '') || '/overview';
  if (current) { clearTimeout(current.timer); current.alive = false; }
  const main = document.getElementById('main');
  const match = routes.map(([re, nav, page]) => [path.match(re), nav, page]).find(([m]) => m);
  if (!match) { location.hash = '#/overview'; return; }
  const [m, nav, page] = match;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.getElementById('sidebar').classList.remove('open');
  replace(main);
  const params = m.slice(1).map(p => (p === undefined ? undefined : decodeURIComponent(p)));
  const state = { alive: true, timer: 0 };
  current = state;
  const view = page(main, ...params);
  const tick = async () => {
    if (!state.alive) return;
    try {
      await view.refresh();
      setStatus('Updated ' + new Date().toLocaleTimeString(), '');
    } catch (err) {
      setStatus(errorText(err), 'error');
    }
    if (state.alive && !view.once) state.timer = setTimeout(tick, view.pollMs || POLL_MS);
  };
  tick();
}

function setStatus(text, cls) {
  const el = document.getElementById('status');
  el.textContent = text;
  el.className = 'status ' + cls;
}

// "/" focuses the page's search or filter box, as on GitHub.
document.addEventListener('keydown', e => {
  const t = e.target;
  if (e.key !== '/' || t.closest?.('input, textarea, select')) return;
  const search = document.querySelector('[data-search]');
  if (search) { e.preventDefault(); search.focus(); }
});

document.getElementById('menu-toggle').addEventListener('click', e => {
  const open = document.getElementById('sidebar').classList.toggle('open');
  e.currentTarget.setAttribute('aria-expanded', String(open));
});

// The cluster id in the top bar, once.
api('GET', 'overview').then(o => {
  document.getElementById('cluster-id').textContent = 'cluster ' + o.clusterId;
}).catch(() => {});

window.addEventListener('hashchange', route);
route();
