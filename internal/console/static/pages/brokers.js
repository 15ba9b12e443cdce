import { api, h, replace, table } from '../lib.js';

export function brokersPage(main, broker) {
  const select = h('select', { id: 'broker-select', 'aria-label': 'Broker', onchange: () => { location.hash = '#/brokers/' + select.value; } });
  const filter = h('input', { type: 'search', id: 'broker-config-filter', 'data-search': true, placeholder: 'Filter configs  ( / )',
    'aria-label': 'Filter configs', oninput: () => draw() });
  const list = h('div');
  let configs = [];
  const draw = () => replace(list, table([
    { label: 'Config', value: c => h('code', {}, c.name) },
    { label: 'Value', value: c => h('span', { 'data-config': c.name }, c.sensitive ? '(sensitive)' : c.value) },
    { label: 'Source', value: c => c.source.replace(/_CONFIG$/, '').toLowerCase().replaceAll('_', ' ') },
  ], configs.filter(c => c.name.includes(filter.value.toLowerCase())), { testid: 'broker-configs', empty: 'No configs match.' }));
  main.append(h('h1', {}, 'Broker configs'), h('div', { class: 'toolbar' }, h('label', {}, 'Broker', select), filter), list);
  let loaded = false;
  return {
    async refresh() {
      if (!loaded) {
        const o = await api('GET', 'overview');
        replace(select, o.brokers.map(b => h('option', { value: String(b.id) }, `${b.id} (${b.host}:${b.port})`)));
        loaded = true;
        if (broker === undefined) broker = String(o.brokers[0]?.id ?? 0);
        select.value = broker;
      }
      const r = await api('GET', `brokers/${broker}/configs`);
      configs = r.configs;
      draw();
    },
    pollMs: 15000,
  };
}
