import { api, h, replace, table, card, lineChart, fmtRate, fmtNum, notice } from '../lib.js';

export function overviewPage(main) {
  const cards = h('div', { class: 'cards' });
  const chart = h('div', { class: 'panel', 'data-testid': 'throughput' });
  const brokers = h('div');
  const quorum = h('div');
  main.append(h('h1', {}, 'Cluster overview'), cards,
    h('h2', {}, 'Throughput in'), chart,
    h('div', { class: 'grid2' }, h('section', {}, h('h2', {}, 'Brokers'), brokers),
      h('section', {}, h('h2', {}, 'Metadata quorum'), quorum)));
  return {
    async refresh() {
      const o = await api('GET', 'overview');
      const last = o.throughput.at(-1) || { bytesPerSec: 0, recordsPerSec: 0 };
      replace(cards,
        card('Cluster id', o.clusterId || '–', 'small', 'cluster-id'),
        card('Controller', String(o.controller), '', 'controller'),
        card('Brokers', String(o.brokers.length), '', 'broker-count'),
        card('Topics', fmtNum(o.health.topics)),
        card('Partitions', fmtNum(o.health.partitions)),
        card('Offline partitions', fmtNum(o.health.offline), o.health.offline ? 'bad' : 'ok', 'offline'),
        card('Under-replicated', fmtNum(o.health.underReplicated), o.health.underReplicated ? 'warn' : 'ok', 'under-replicated'),
        card('Bytes in', fmtRate(last.bytesPerSec, 'B')),
        card('Records in', fmtRate(last.recordsPerSec, 'rec')));
      replace(chart, lineChart([
        { name: 'bytes in per second', points: o.throughput.map(p => ({ t: p.t, v: p.bytesPerSec })) },
        { name: 'records in per second', points: o.throughput.map(p => ({ t: p.t, v: p.recordsPerSec })) },
      ], { format: [v => fmtRate(v, 'B'), v => fmtRate(v, 'rec')], label: 'throughput in over time', width: chart.clientWidth - 30 }));
      replace(brokers, table([
        { label: 'ID', value: b => String(b.id) },
        { label: 'Host', value: b => `${b.host}:${b.port}` },
        { label: 'Rack', value: b => b.rack || '–' },
        { label: 'Role', value: b => (b.id === o.controller ? h('span', { class: 'pill ok' }, 'controller') : '') },
        { label: 'Configs', value: b => h('a', { href: '#/brokers/' + b.id }, 'configs') },
      ], o.brokers, { testid: 'brokers' }));
      if (!o.quorum) {
        replace(quorum, notice(o.quorumNote || 'Quorum not described by this cluster.'));
        return;
      }
      const q = o.quorum;
      replace(quorum, h('div', { class: 'kv panel' },
        h('span', { class: 'muted' }, 'Leader'), h('span', { 'data-testid': 'quorum-leader' }, String(q.leaderId)),
        h('span', { class: 'muted' }, 'Epoch'), h('span', {}, String(q.epoch)),
        h('span', { class: 'muted' }, 'High watermark'), h('span', {}, fmtNum(q.highWatermark))),
      table([
        { label: 'Node', value: v => String(v.id) },
        { label: 'Role', value: v => (v.id === q.leaderId ? h('span', { class: 'pill ok' }, 'leader') : v.role) },
        { label: 'Address', value: v => v.addr || '–' },
        { label: 'Log end offset', value: v => fmtNum(v.logEndOffset), num: true },
        { label: 'Lag', value: v => fmtNum(v.lag), num: true },
      ], [...q.voters.map(v => ({ ...v, role: 'voter' })), ...q.observers.map(v => ({ ...v, role: 'observer' }))],
      { testid: 'quorum' }));
    },
  };
}
