import { api, h, replace, table, fmtNum, fmtTime, notice, errorText, enc } from '../lib.js';

// topicPicker sends the page to #/ROUTE/TOPIC once a topic is chosen.
export function topicPicker(main, route, title) {
  const select = h('select', { id: 'topic-select', 'aria-label': 'Topic' });
  const go = e => { e.preventDefault(); if (select.value) location.hash = `#/${route}/${enc(select.value)}`; };
  main.append(h('h1', {}, title), h('form', { class: 'inline panel', onsubmit: go },
    h('label', {}, 'Topic', select), h('button', { class: 'primary', type: 'submit', id: 'topic-open' }, 'Open')));
  return {
    once: true,
    async refresh() {
      const topics = await api('GET', 'topics');
      replace(select, topics.filter(t => !t.internal).map(t => h('option', { value: t.name }, t.name)));
    },
  };
}

// parseTime accepts milliseconds since the epoch or a date Date.parse
// reads (2026-01-02T03:04:05Z).
export function parseTime(text) {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new Error(`cannot read "${text}" as a time`);
  return ms;
}

export function messagesPage(main, topic) {
  if (!topic) return topicPicker(main, 'messages', 'Messages');
  const partition = h('select', { id: 'browse-partition' }, h('option', { value: '-1' }, 'All'));
  const mode = h('select', { id: 'browse-mode', onchange: () => showMode() },
    h('option', { value: 'newest' }, 'Newest'), h('option', { value: 'offset' }, 'From offset'),
    h('option', { value: 'timestamp' }, 'From time'));
  const offset = h('input', { id: 'browse-offset', type: 'number', min: 0, value: '0' });
  const time = h('input', { id: 'browse-time', placeholder: '2026-01-02T03:04:05Z or ms' });
  const count = h('input', { id: 'browse-count', type: 'number', min: 1, max: 500, value: '50' });
  const key = h('input', { id: 'filter-key', 'data-search': true, placeholder: 'substring' });
  const value = h('input', { id: 'filter-value', placeholder: 'substring' });
  const header = h('input', { id: 'filter-header', placeholder: 'key or value substring' });
  const tail = h('input', { type: 'checkbox', id: 'live-tail' });
  const offsetLabel = h('label', {}, 'Offset', offset);
  const timeLabel = h('label', {}, 'Time', time);
  const result = h('div');
  const summary = h('div', { class: 'muted' });
  let partitionsLoaded = false;
  const showMode = () => {
    offsetLabel.hidden = mode.value !== 'offset';
    timeLabel.hidden = mode.value !== 'timestamp';
  };
  showMode();
  const query = () => {
    const q = new URLSearchParams({ partition: partition.value, mode: mode.value, count: count.value || '50' });
    if (mode.value === 'offset') q.set('offset', offset.value || '0');
    if (mode.value === 'timestamp') q.set('timestamp', String(parseTime(time.value)));
    for (const [k, el] of [['key', key], ['value', value], ['header', header]]) if (el.value) q.set(k, el.value);
    return q;
  };
  const run = async () => {
    let r;
    try {
      r = await api('GET', `topics/${enc(topic)}/messages?${query()}`);
    } catch (err) {
      replace(result, notice(errorText(err), 'error'));
      return;
    }
    replace(summary, `${r.messages.length} shown, ${fmtNum(r.scanned)} read` + (r.limited ? ' (read limit reached)' : ''));
    replace(result, table([
      { label: 'Partition', value: m => String(m.partition), num: true },
      { label: 'Offset', value: m => String(m.offset), num: true },
      { label: 'Timestamp', value: m => fmtTime(m.timestamp) },
      { label: 'Key', value: m => (m.key === null ? h('span', { class: 'muted' }, 'null') : h('code', { class: 'msg-key' }, m.key)) },
      { label: 'Value', value: m => h('div', { class: 'msg-value' }, m.value === null ? h('span', { class: 'muted' }, 'null')
        : h('pre', { class: m.valueJson ? 'json' : '' }, m.valueJson || m.value), m.truncated ? h('span', { class: 'muted' }, 'truncated') : '') },
      { label: 'Headers', value: m => h('div', {}, m.headers.map(x => h('div', { class: 'msg-header' }, h('code', {}, x.key), ' = ', h('code', {}, x.value)))) },
    ], r.messages, { testid: 'messages', empty: 'No messages.' }));
  };
  const submit = e => { e.preventDefault(); run(); };
  main.append(h('h1', {}, 'Messages in ', h('a', { href: '#/topics/' + enc(topic) }, topic)),
    h('form', { class: 'inline panel', id: 'browse-form', onsubmit: submit },
      h('label', {}, 'Partition', partition), h('label', {}, 'Start', mode), offsetLabel, timeLabel,
      h('label', {}, 'Max messages', count), h('label', {}, 'Key contains', key),
      h('label', {}, 'Value contains', value), h('label', {}, 'Header contains', header),
      h('label', { class: 'check' }, tail, 'Live tail'),
      h('button', { class: 'primary', type: 'submit', id: 'browse-submit' }, 'Show messages'),
      h('a', { href: '#/produce/' + enc(topic) }, 'Produce…')),
    summary, result);
  return {
    async refresh() {
      if (!partitionsLoaded) {
        const t = await api('GET', 'topics/' + enc(topic));
        partition.append(...t.partitions.map(p => h('option', { value: String(p.partition) }, String(p.partition))));
        partitionsLoaded = true;
        await run();
        return;
      }
      if (tail.checked) await run();
    },
  };
}
