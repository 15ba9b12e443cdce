import { api, h, replace, table, card, lineChart, fmtNum, fmtSeconds, notice, errorText, enc } from '../lib.js';
import { parseTime } from './messages.js';

function statusPill(status) {
  const cls = { OK: 'ok', WARNING: 'warn', STALLED: 'bad', STOPPED: 'bad', ERROR: 'bad' }[status] || '';
  return h('span', { class: 'pill ' + cls }, status || '–');
}

function statePill(state) {
  const cls = state === 'Stable' ? 'ok' : state === 'Empty' || state === 'Dead' ? '' : 'warn';
  return h('span', { class: 'pill ' + cls }, state || 'unknown');
}

export function groupsPage(main) {
  let rows = [];
  const filter = h('input', { type: 'search', id: 'group-filter', 'data-search': true, placeholder: 'Filter groups  ( / )',
    'aria-label': 'Filter groups', oninput: () => draw() });
  const list = h('div');
  const draw = () => replace(list, table([
    { label: 'Group', value: g => h('a', { href: '#/groups/' + enc(g.group), 'data-group': g.group }, g.group) },
    { label: 'State', value: g => statePill(g.state) },
    { label: 'Type', value: g => g.protocolType || '–' },
    { label: 'Members', value: g => String(g.members), num: true },
    { label: 'Total lag', value: g => h('span', { 'data-lag': g.group }, fmtNum(g.totalLag)), num: true },
  ], rows.filter(g => g.group.toLowerCase().includes(filter.value.toLowerCase())), { testid: 'groups', empty: 'No consumer groups.' }));
  main.append(h('h1', {}, 'Consumer groups'), h('div', { class: 'toolbar' }, filter), list);
  return { async refresh() { rows = await api('GET', 'groups'); draw(); } };
}

export function groupPage(main, group) {
  const cards = h('div', { class: 'cards' });
  const chart = h('div', { class: 'panel', 'data-testid': 'lag-chart' });
  const members = h('div');
  const lags = h('div');
  const result = h('div');
  const topic = h('select', { id: 'reset-topic' }, h('option', { value: '' }, 'All committed topics'));
  const to = h('select', { id: 'reset-to', onchange: () => showTo() }, ['earliest', 'latest', 'offset', 'timestamp'].map(v => h('option', { value: v }, v)));
  const offset = h('input', { id: 'reset-offset', type: 'number', min: 0, value: '0' });
  const time = h('input', { id: 'reset-time', placeholder: '2026-01-02T03:04:05Z or ms' });
  const offsetLabel = h('label', {}, 'Offset', offset);
  const timeLabel = h('label', {}, 'Time', time);
  const showTo = () => { offsetLabel.hidden = to.value !== 'offset'; timeLabel.hidden = to.value !== 'timestamp'; };
  showTo();
  const known = new Set();
  const reset = async e => {
    e.preventDefault();
    try {
      const body = { topic: topic.value, to: to.value };
      if (to.value === 'offset') body.offset = Number(offset.value || 0);
      if (to.value === 'timestamp') body.timestamp = parseTime(time.value);
      const r = await api('POST', `groups/${enc(group)}/reset`, body);
      replace(result, notice(h('span', { 'data-testid': 'reset-done' }, `Committed ${r.committed.length} offsets: `,
        r.committed.map(c => `${c.topic}-${c.partition}@${c.committed}`).join(', ')), 'ok'));
      await refresh();
    } catch (err) {
      replace(result, notice(h('span', { 'data-testid': 'reset-error' }, errorText(err)), 'error'));
    }
  };
  const refresh = async () => {
    const g = await api('GET', 'groups/' + enc(group));
    replace(cards, card('State', statePill(g.state), '', 'group-state'), card('Members', String(g.members.length)),
      card('Total lag', fmtNum(g.totalLag), g.totalLag ? 'warn' : 'ok', 'total-lag'),
      card('Max lag in time', fmtSeconds(g.maxLagSeconds), '', 'max-lag-time'),
      g.status ? card('Lag status', statusPill(g.status), '', 'group-status') : '',
      card('Coordinator', String(g.coordinator)));
    replace(chart, lineChart([
      { name: 'total lag (records)', points: g.history.map(p => ({ t: p.t, v: p.lag })) },
      { name: 'max lag (seconds)', points: g.history.map(p => ({ t: p.t, v: p.lagSeconds })) },
    ], { format: [v => fmtNum(Math.round(v)), v => fmtSeconds(v)], label: 'lag over time', width: chart.clientWidth - 30 }));
    replace(members, table([
      { label: 'Client id', value: m => m.clientId },
      { label: 'Host', value: m => m.host },
      { label: 'Member id', value: m => h('code', {}, m.memberId) },
      { label: 'Assignment', value: m => m.assignments.map(a => `${a.topic}: ${a.partitions.join(', ')}`).join('; ') || '–' },
    ], g.members, { testid: 'members', empty: 'No members: the group is empty, so its offsets can be reset.' }));
    replace(lags, table([
      { label: 'Topic', value: p => h('a', { href: '#/topics/' + enc(p.topic) }, p.topic) },
      { label: 'Partition', value: p => String(p.partition), num: true },
      { label: 'Committed', value: p => h('span', { 'data-committed': `${p.topic}-${p.partition}` }, fmtNum(p.committed)), num: true },
      { label: 'End offset', value: p => fmtNum(p.end), num: true },
      { label: 'Lag', value: p => h('span', { 'data-lag': `${p.topic}-${p.partition}` }, fmtNum(p.lag)), num: true },
      { label: 'Lag in time', value: p => fmtSeconds(p.lagSeconds), num: true },
      { label: 'Status', value: p => (p.status ? statusPill(p.status) : '–') },
      { label: 'Consumer', value: p => p.clientId || '–' },
    ], g.partitions, { testid: 'group-lag', empty: 'No committed offsets.' }));
    for (const p of g.partitions) {
      if (!known.has(p.topic)) { known.add(p.topic); topic.append(h('option', { value: p.topic }, p.topic)); }
    }
  };
  main.append(h('h1', {}, 'Group ', h('span', { 'data-testid': 'group-name' }, group)), cards,
    h('h2', {}, 'Lag over time'), chart,
    h('h2', {}, 'Lag per partition'), lags,
    h('p', { class: 'muted' }, 'Lag in time is the age of the first record the group has not consumed. Statuses follow Burrow: OK, WARNING (lag grows), STALLED (commits stopped while lag stays), STOPPED (no consumer), ERROR.'),
    h('h2', {}, 'Members'), members,
    h('h2', {}, 'Reset offsets'),
    h('p', { class: 'muted' }, 'Kafka allows this only while the group has no members: stop its consumers first.'),
    h('form', { class: 'inline panel', id: 'reset-form', onsubmit: reset },
      h('label', {}, 'Topic', topic), h('label', {}, 'To', to), offsetLabel, timeLabel,
      h('button', { class: 'primary', type: 'submit', id: 'reset-submit' }, 'Reset offsets')),
    result);
  return { refresh };
}
