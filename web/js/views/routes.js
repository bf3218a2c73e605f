// A tenant's routes: host and path → module.
import { h, replace, route } from '../dom.js';
import { p } from '../api.js';
import { guarded, loading, mono, table, when } from '../ui.js';

export function routesView(ctx) {
	const { api, view, tenant } = ctx;
	const list = h('div', null, loading());
	replace(view, h('div', { class: 'view-head' }, h('h1', null, 'Routes'), h('p', { class: 'muted' }, `Tenant ${tenant}`)), list);
	guarded(async () => {
		const rs = await api.list(p('v1', 'tenants', tenant, 'routes'));
		rs.sort((a, b) => `${a.host}${a.path}`.localeCompare(`${b.host}${b.path}`));
		replace(list, table([
			{ label: 'Host', cell: (r) => h('code', null, r.host) },
			{ label: 'Path', cell: (r) => h('code', null, r.path) },
			{ label: 'Module', cell: (r) => h('a', { href: route('t', tenant, 'modules', r.module) }, r.module) },
			{ label: 'Id', cell: (r) => mono(r.id, 8) },
			{ label: 'Created', cell: (r) => when(r.created_at) },
		], rs, { class: 'routes', empty: 'No routes.' }));
	});
}
