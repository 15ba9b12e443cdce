import { api, h, replace, table, notice, errorText, confirmButton } from '../lib.js';

const field = (id, label, el) => h('label', {}, label, el || h('input', { id, required: true, autocomplete: 'off' }));
const options = (id, values) => h('select', { id }, values.map(v => h('option', { value: v }, v)));

export function securityPage(main) {
  const body = h('div');
  const result = h('div');
  const resourceType = options('acl-resource-type', ['TOPIC', 'GROUP', 'CLUSTER', 'TRANSACTIONAL_ID']);
  const pattern = options('acl-pattern', ['LITERAL', 'PREFIXED']);
  const operation = options('acl-operation', ['ALL', 'READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE',
    'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE']);
  const permission = options('acl-permission', ['ALLOW', 'DENY']);
  const form = h('form', { class: 'inline panel', id: 'acl-form', onsubmit: e => { e.preventDefault(); create(); } },
    field('acl-principal', 'Principal (User:alice)'), field('acl-host', 'Host', h('input', { id: 'acl-host', value: '*', required: true })),
    h('label', {}, 'Resource type', resourceType), field('acl-resource-name', 'Resource name'),
    h('label', {}, 'Pattern', pattern), h('label', {}, 'Operation', operation), h('label', {}, 'Permission', permission),
    h('button', { class: 'primary', type: 'submit' }, 'Create ACL'));
  const val = id => form.querySelector('#' + id).value;
  const act = async (path, acl, done) => {
    try {
      await api('POST', path, acl);
      replace(result, notice(done, 'ok'));
      await refresh();
    } catch (err) {
      replace(result, notice(errorText(err), 'error'));
    }
  };
  const create = () => act('acls', {
    principal: val('acl-principal'), host: val('acl-host'), resourceType: resourceType.value,
    resourceName: val('acl-resource-name'), patternType: pattern.value, operation: operation.value, permission: permission.value,
  }, 'ACL created.');
  const refresh = async () => {
    const s = await api('GET', 'security');
    if (s.securityOff) {
      form.hidden = true;
      replace(body, notice(h('span', { 'data-testid': 'security-off' },
        'Security is off: the cluster has no authorizer (DescribeAcls answered SECURITY_DISABLED), so there are no ACLs to show.')));
      return;
    }
    form.hidden = false;
    replace(body, h('h2', {}, 'ACLs'), table([
      { label: 'Principal', value: a => a.principal }, { label: 'Host', value: a => a.host },
      { label: 'Resource', value: a => `${a.resourceType} ${a.resourceName}` }, { label: 'Pattern', value: a => a.patternType },
      { label: 'Operation', value: a => a.operation }, { label: 'Permission', value: a => a.permission },
      { label: '', value: a => confirmButton('Delete', 'Delete this ACL?', () => act('acls/delete', a, 'ACL deleted.'), 'delete-acl') },
    ], s.acls, { testid: 'acls', empty: 'No ACLs.' }),
    h('h2', {}, 'SCRAM users'),
    s.usersError ? notice(s.usersError, 'error') : table([
      { label: 'User', value: u => u.user }, { label: 'Mechanisms', value: u => u.mechanisms.join(', ') },
    ], s.users, { testid: 'users', empty: 'No SCRAM users.' }));
  };
  main.append(h('h1', {}, 'ACLs and users'), result, body, h('h2', {}, 'Create an ACL'), form);
  return { refresh, pollMs: 10000 };
}
