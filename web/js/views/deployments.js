// A tenant's deployments, newest first, and the form that starts one (deployers and admins):
// module, version and a strategy picker (immediate, canary, or custom waves), with a
// confirmation that spells out what will happen.
import { h, replace, route } from '../dom.js';
import { p } from '../api.js';
import { badge, confirmAction, guarded, loading, mono, poller, showError, table, when } from '../ui.js';

const LIVE = new Set(['pending', 'running', 'paused']);
const REFRESH_MS = 3000;

export function deploymentsView(ctx) {
	const { api, view, tenant } = ctx;
	const list = h('div', null, loading());
	replace(view,
		h('div', { class: 'view-head' }, h('h1', null, 'Deployments'), h('p', { class: 'muted' }, `Tenant ${tenant}`)),
		ctx.canAct ? startForm(ctx) : null,
		h('h2', null, 'History'),
		list);
	// While a rollout is live its row changes state by itself: refresh the history (only the
	// list: the start form keeps what the operator is typing).
	const poll = poller(ctx);
	async function load() {
		const items = await guarded(() => api.list(p('v1', 'tenants', tenant, 'deployments'), { order: 'desc' }, 500));
		if (!poll.alive() || items === undefined)
			return;
		render(items);
		if (items.some((d) => LIVE.has(d.state)))
			poll.later(load, REFRESH_MS);
	}
	function render(items) {
		items.sort((a, b) => String(b.created_at || '').localeCompare(String(a.created_at || '')));
		replace(list, table([
			{ label: 'Deployment', cell: (d) => h('a', { href: route('t', tenant, 'deployments', d.id), class: 'dep-link' }, mono(d.id, 8)) },
			{ label: 'Module', cell: (d) => d.module },
			{ label: 'Versions', cell: (d) => `${d.from_version ? `v${d.from_version}` : '—'} → v${d.to_version}` },
			{ label: 'State', cell: (d) => badge(d.state) },
			{ label: 'Started', cell: (d) => when(d.created_at) },
			{ label: 'Updated', cell: (d) => when(d.updated_at) },
		], items, { empty: 'No deployments yet.', rowData: (d) => ({ id: d.id }) }));
	}
	load();
}

// "10%" → {percent: 10}; "hnd1, fra1" → {pops: ['hnd1', 'fra1']}.
export function parseWaves(text) {
	const waves = [];
	for (const raw of text.split('\n')) {
		const line = raw.trim();
		if (!line)
			continue;
		const m = /^(\d{1,3})\s*%$/.exec(line);
		if (m)
			waves.push({ percent: Number(m[1]) });
		else
			waves.push({ pops: line.split(/[\s,]+/).filter(Boolean) });
	}
	return waves;
}

function startForm(ctx) {
	const { api, tenant } = ctx;
	const moduleSel = h('select', { id: 'dep-module', required: true, name: 'module' });
	const versionSel = h('select', { id: 'dep-version', required: true, name: 'version' });
	const radio = (value, label, checked) => h('label', { class: 'radio' },
		h('input', { type: 'radio', name: 'strategy', value, checked, id: `strategy-${value}` }), ` ${label}`);
	const waves = h('textarea', { id: 'dep-waves', rows: 4, spellcheck: 'false', placeholder: 'one wave per line: 10% or pop names' }, 'hnd1\n10%\n50%\n100%');
	const bake = h('input', { type: 'number', id: 'dep-bake', min: 0, value: '60' });
	const activation = h('input', { type: 'number', id: 'dep-activation', min: 1, value: '120' });
	const maxErr = h('input', { type: 'number', id: 'dep-max-error', min: 0, max: 1, step: '0.01', value: '0.05' });
	const autoRb = h('input', { type: 'checkbox', id: 'dep-auto-rollback', checked: true });
	const custom = h('fieldset', { class: 'custom-strategy', hidden: true },
		h('legend', null, 'Custom waves'),
		h('label', { for: 'dep-waves' }, 'Waves (cumulative percent, or the PoPs of the wave)'), waves,
		h('div', { class: 'row' },
			h('label', null, 'Bake seconds ', bake),
			h('label', null, 'Activation timeout (s) ', activation),
			h('label', null, 'Max error rate ', maxErr),
			h('label', null, autoRb, ' Auto rollback')));
	const strategies = h('fieldset', { class: 'strategy', onchange: () => {
		custom.hidden = form.querySelector('input[name=strategy]:checked').value !== 'custom';
	} },
	h('legend', null, 'Strategy'),
	radio('immediate', 'Immediate (all PoPs at once)', false),
	radio('canary', 'Canary (1 %, 10 %, 50 %, 100 %)', true),
	radio('custom', 'Custom waves', false));

	async function loadVersions() {
		replace(versionSel);
		if (!moduleSel.value)
			return;
		const vs = await guarded(() => api.list(p('v1', 'tenants', tenant, 'modules', moduleSel.value, 'versions')));
		if (!vs)
			return;
		vs.sort((a, b) => b.version - a.version);
		replace(versionSel, vs.map((v) => h('option', { value: String(v.version) }, `v${v.version}${v.label ? ` — ${v.label}` : ''}`)));
	}
	moduleSel.addEventListener('change', loadVersions);

	const form = h('form', { class: 'card start-deployment', id: 'start-deployment', onsubmit: async (ev) => {
		ev.preventDefault();
		if (!moduleSel.value || !versionSel.value) {
			showError(new Error('Pick a module and one of its versions first (upload a version if there is none).'));
			return;
		}
		const kind = form.querySelector('input[name=strategy]:checked').value;
		let strategy = kind;
		if (kind === 'custom') {
			strategy = {
				waves: parseWaves(waves.value),
				bake_seconds: Number(bake.value),
				activation_timeout_seconds: Number(activation.value),
				max_error_rate: Number(maxErr.value),
				auto_rollback: autoRb.checked,
			};
			if (strategy.waves.length === 0) {
				showError(new Error('Give at least one wave.'));
				return;
			}
		}
		const body = { module: moduleSel.value, version: Number(versionSel.value), strategy };
		const ok = await confirmAction('Start deployment',
			`Roll ${body.module} v${body.version} out over the fleet?`,
			[['Tenant', tenant], ['Module', body.module], ['Version', `v${body.version}`],
				['Strategy', typeof strategy === 'string' ? strategy : JSON.stringify(strategy)]],
			'Start deployment');
		if (!ok)
			return;
		const d = await guarded(() => api.post(p('v1', 'tenants', tenant, 'deployments'), body));
		if (d && d.id)
			ctx.go(route('t', tenant, 'deployments', d.id));
	} },
	h('h2', null, 'Start a deployment'),
	h('div', { class: 'row' },
		h('label', null, 'Module ', moduleSel),
		h('label', null, 'Version ', versionSel)),
	strategies, custom,
	h('button', { type: 'submit', class: 'primary', id: 'dep-start' }, 'Start deployment…'));

	guarded(async () => {
		const mods = await api.list(p('v1', 'tenants', tenant, 'modules'));
		replace(moduleSel, mods.map((m) => h('option', { value: m.name }, m.name)));
		await loadVersions();
	});
	return form;
}
