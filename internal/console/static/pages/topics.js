import { api, h, replace, table, fmtBytes, fmtNum, fmtRate, notice, errorText, enc, confirmButton } from '../lib.js';

// parseConfigs reads "key=value" lines.
export function parseConfigs(text) {
  const out = {};
  for (const line of text.split('\n').map(l => l.trim()).filter(Boolean)) {
    const i = line.indexOf('=');
    if (i <= 0) throw new Error(`config "${line}" is not key=value`);
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function topicsPage(main) {
  let rows = [];
  const filter = h('input', { type: 'search', id: 'topic-filter', 'data-search': true, placeholder: 'Filter topics  ( / )',
    'aria-label': 'Filter topics', oninput: () => draw() });
  const internal = h('input', { type: 'checkbox', id: 'show-internal', onchange: () => draw() });
  const list = h('div');
  const result = h('div');
  const name = h('input', { id: 'new-topic-name', name: 'name', required: true, pattern: '[a-zA-Z0-9._\\-]{1,249}', autocomplete: 'off' });
  const partitions = h('input', { id: 'new-topic-partitions', type: 'number', min: 1, placeholder: 'default' });
  const rf = h('input', { id: 'new-topic-rf', type: 'number', min: 1, placeholder: 'default' });
  const configs = h('textarea', { id: 'new-topic-configs', placeholder: 'retention.ms=86400000\ncleanup.policy=compact', rows: 2 });
  const create = async e => {
    e.preventDefault();
    try {
      const body = { name: name.value.trim(), partitions: Number(partitions.value || -1),
        replicationFactor: Number(rf.value || -1), configs: parseConfigs(configs.value) };
      const r = await api('POST', 'topics', body);
      replace(result, notice(`Created topic ${r.name} with ${r.partitions} partitions.`, 'ok'));
      name.value = ''; configs.value = '';
      await refresh();
    } catch (err) {
      replace(result, notice(errorText(err), 'error'));
    }
  };
  const draw = () => {
    const f = filter.value.toLowerCase();
    const shown = rows.filter(t => t.name.toLowerCase().includes(f) && (internal.checked || !t.internal));
    replace(list, table([
      { label: 'Topic', value: t => h('a', { href: '#/topics/' + enc(t.name), 'data-topic': t.name }, t.name) },
      { label: 'Partitions', value: t => String(t.partitions), num: true },
      { label: 'RF', value: t => String(t.replicationFactor), num: true },
      { label: 'Size', value: t => fmtBytes(t.sizeBytes), num: true },
      { label: 'Records', value: t => fmtNum(t.records), num: true },
      { label: 'In', value: t => fmtRate(t.bytesPerSec, 'B') + ' · ' + fmtRate(t.recordsPerSec, 'rec'), num: true },
    ], shown, { testid: 'topics', empty: 'No topics match.' }));
  };
  const refresh = async () => { rows = await api('GET', 'topics'); draw(); };
  main.append(h('h1', {}, 'Topics'),
    h('div', { class: 'toolbar' }, filter, h('label', { class: 'check' }, internal, 'Show internal topics')),
    list,
    h('h2', {}, 'Create a topic'),
    h('form', { class: 'inline panel', id: 'create-topic', onsubmit: create },
      h('label', {}, 'Name', name), h('label', {}, 'Partitions', partitions), h('label', {}, 'Replication factor', rf),
      h('label', {}, 'Configs (key=value per line)', configs),
      h('button', { class: 'primary', type: 'submit' }, 'Create topic')),
    result);
  return { refresh };
}

export function topicPage(main, topic) {
  const parts = h('div');
  const configs = h('div');
  const result = h('div');
  const cfgName = h('input', { id: 'config-name', list: 'config-names', required: true, autocomplete: 'off' });
  const cfgValue = h('input', { id: 'config-value', autocomplete: 'off' });
  const names = h('datalist', { id: 'config-names' });
  const alter = async body => {
    try {
      await api('POST', `topics/${enc(topic)}/configs`, body);
      replace(result, notice('Saved.', 'ok'));
      await refresh();
    } catch (err) {
      replace(result, notice(errorText(err), 'error'));
    }
  };
  const save = e => { e.preventDefault(); alter({ set: { [cfgName.value.trim()]: cfgValue.value } }); };
  const edit = c => { cfgName.value = c.name; cfgValue.value = c.value; cfgValue.focus(); };
  const remove = async () => {
    try {
      await api('DELETE', 'topics/' + enc(topic));
      location.hash = '#/topics';
    } catch (err) {
      replace(result, notice(errorText(err), 'error'));
    }
  };
  const refresh = async () => {
    const t = await api('GET', 'topics/' + enc(topic));
    replace(parts, table([
      { label: 'Partition', value: p => String(p.partition), num: true },
      { label: 'Leader', value: p => (p.leader < 0 ? h('span', { class: 'pill bad' }, 'offline') : String(p.leader)), num: true },
      { label: 'Replicas', value: p => p.replicas.join(', ') },
      { label: 'ISR', value: p => h('span', { class: p.isr.length < p.replicas.length ? 'pill warn' : '' }, p.isr.join(', ')) },
      { label: 'Start offset', value: p => fmtNum(p.startOffset), num: true },
      { label: 'End offset', value: p => fmtNum(p.endOffset), num: true },
      { label: 'Records', value: p => fmtNum(p.endOffset - p.startOffset), num: true },
    ], t.partitions, { testid: 'partitions' }));
    const cfgs = t.configs || [];
    replace(names, cfgs.map(c => h('option', { value: c.name })));
    replace(configs, t.configsError ? notice(t.configsError, 'error') : table([
      { label: 'Config', value: c => h('code', {}, c.name) },
      { label: 'Value', value: c => h('span', { 'data-config': c.name }, c.sensitive ? '(sensitive)' : c.value) },
      { label: 'Source', value: c => c.source.replace(/_CONFIG$/, '').toLowerCase().replaceAll('_', ' ') },
      { label: '', value: c => h('span', {}, h('button', { type: 'button', onclick: () => edit(c), 'aria-label': 'Edit ' + c.name }, 'Edit'),
        c.source === 'DYNAMIC_TOPIC_CONFIG' ? h('button', { type: 'button', onclick: () => alter({ delete: [c.name] }), 'aria-label': 'Reset ' + c.name }, 'Reset') : '') },
    ], cfgs, { testid: 'configs' }));
  };
  main.append(h('h1', {}, 'Topic ', h('span', { 'data-testid': 'topic-name' }, topic)),
    h('div', { class: 'toolbar' },
      h('a', { href: '#/messages/' + enc(topic) }, 'Browse messages'), ' · ',
      h('a', { href: '#/produce/' + enc(topic) }, 'Produce a message'), ' · ',
      confirmButton('Delete topic', `Delete ${topic} and all its records?`, remove, 'delete-topic')),
    h('h2', {}, 'Partitions'), parts,
    h('h2', {}, 'Configs'),
    h('form', { class: 'inline panel', id: 'config-form', onsubmit: save },
      h('label', {}, 'Config', cfgName), h('label', {}, 'Value', cfgValue), names,
      h('button', { class: 'primary', type: 'submit' }, 'Set config')),
    result, configs);
  return { refresh };
}
