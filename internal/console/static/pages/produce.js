import { api, h, replace, notice, errorText, enc } from '../lib.js';
import { topicPicker } from './messages.js';

export function producePage(main, topic) {
  if (!topic) return topicPicker(main, 'produce', 'Produce a message');
  const partition = h('select', { id: 'produce-partition' }, h('option', { value: '' }, 'By key (default partitioner)'));
  const key = h('input', { id: 'produce-key', autocomplete: 'off' });
  const nullKey = h('input', { type: 'checkbox', id: 'produce-null-key', checked: true });
  const value = h('textarea', { id: 'produce-value', rows: 6, placeholder: '{"hello": "world"}' });
  const headers = h('textarea', { id: 'produce-headers', rows: 2, placeholder: 'header-key=value (one per line)' });
  const result = h('div');
  key.addEventListener('input', () => { nullKey.checked = key.value === ''; });
  const submit = async e => {
    e.preventDefault();
    try {
      const hs = headers.value.split('\n').map(l => l.trim()).filter(Boolean).map(l => {
        const i = l.indexOf('=');
        if (i <= 0) throw new Error(`header "${l}" is not key=value`);
        return { key: l.slice(0, i), value: l.slice(i + 1) };
      });
      const body = { key: nullKey.checked ? null : key.value, value: value.value, headers: hs };
      if (partition.value !== '') body.partition = Number(partition.value);
      const r = await api('POST', `topics/${enc(topic)}/messages`, body);
      replace(result, notice(h('span', { 'data-testid': 'produced' },
        `Produced to partition ${r.partition} at offset ${r.offset}. `,
        h('a', { href: `#/messages/${enc(topic)}` }, 'Browse')), 'ok'));
    } catch (err) {
      replace(result, notice(errorText(err), 'error'));
    }
  };
  // Ctrl+Enter submits from the value box, where Enter is a newline.
  value.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e); });
  main.append(h('h1', {}, 'Produce to ', h('a', { href: '#/topics/' + enc(topic) }, topic)),
    h('form', { class: 'panel', id: 'produce-form', onsubmit: submit },
      h('div', { class: 'toolbar' }, h('label', {}, 'Partition', partition), h('label', {}, 'Key', key),
        h('label', { class: 'check' }, nullKey, 'Null key')),
      h('label', {}, 'Value (Ctrl+Enter sends)', value),
      h('label', {}, 'Headers', headers),
      h('p', {}, h('button', { class: 'primary', type: 'submit', id: 'produce-submit' }, 'Produce'))),
    result);
  return {
    once: true,
    async refresh() {
      const t = await api('GET', 'topics/' + enc(topic));
      partition.append(...t.partitions.map(p => h('option', { value: String(p.partition) }, String(p.partition))));
    },
  };
}
