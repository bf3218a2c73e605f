// One deployment: state and reason, the waves with their states and progress, every PoP's
// desired and observed version, the events timeline, and the operator controls (pause, resume,
// promote, abort, roll back), each behind a confirmation. Polls while the rollout is live.
import { h, replace, route } from '../dom.js';
import { p } from '../api.js';
import { badge, confirmAction, guarded, loading, mono, poller, table, when } from '../ui.js';

const REFRESH_MS = 1500;
const LIVE = new Set(['pending', 'running', 'paused']);

// Which controls apply to which state (the API answers 409 for the others anyway).
const ACTIONS = [
	{ key: 'pause', label: 'Pause', states: ['pending', 'running'], why: 'Stop advancing waves; PoPs keep what they run now.' },
	{ key: 'resume', label: 'Resume', states: ['paused'], why: 'Continue with the current wave.' },
	// The API promotes only a running deployment whose current wave bakes (its PoPs are all
	// active): offering the button at any other moment would only earn a 409.
	{ key: 'promote', label: 'Promote', states: ['running'], when: (d) => currentWaveState(d) === 'baking', why: 'End the current wave\'s bake now and start the next wave (activation must still hold).' },
	{ key: 'abort', label: 'Abort', states: ['pending', 'running', 'paused'], why: 'Stop the deployment and return every PoP it touched to the previous version.', danger: true },
];

function currentWaveState(d) {
	const w = Array.isArray(d.waves) ? d.waves.find((x) => x && x.index === d.current_wave) : null;
	return w ? w.state : null;
}

// "1 % → 10 % → hnd1, fra1 · bake 60 s · activation 120 s · max errors 5 % · auto rollback"
export function strategyText(st) {
	if (typeof st === 'string')
		return st;
	if (!st || typeof st !== 'object')
		return '';
	const waves = (Array.isArray(st.waves) ? st.waves : []).map((w) =>
		(w && typeof w.percent === 'number' ? `${w.percent} %` : (w && Array.isArray(w.pops) ? w.pops.join(', ') : '?')));
	const parts = [waves.join(' → ')];
	if (typeof st.bake_seconds === 'number')
		parts.push(`bake ${st.bake_seconds} s`);
	if (typeof st.activation_timeout_seconds === 'number')
		parts.push(`activation ${st.activation_timeout_seconds} s`);
	if (typeof st.max_error_rate === 'number')
		parts.push(`max errors ${Math.round(st.max_error_rate * 1000) / 10} %`);
	if (typeof st.auto_rollback === 'boolean')
		parts.push(st.auto_rollback ? 'auto rollback' : 'pause on failure');
	return parts.join(' · ');
}

function waveProgress(d, wave) {
	const pops = Array.isArray(wave.pops) ? wave.pops : [];
	const byName = new Map((d.pops || []).map((x) => [x.pop, x]));
	let done = 0;
	for (const name of pops) {
		const x = byName.get(name);
		if (x && x.observed_version === d.to_version && x.state === 'active')
			done++;
	}
	if (wave.state === 'passed')
		done = pops.length;
	return { done, total: pops.length };
}

export function deploymentView(ctx) {
	const { api, view, tenant, id } = ctx;
	const path = p('v1', 'tenants', tenant, 'deployments', id);
	const head = h('div', { class: 'view-head' },
		h('h1', null, 'Deployment ', mono(id, 8)),
		h('a', { href: route('t', tenant, 'deployments') }, '← all deployments'));
	const body = h('div', { class: 'deployment' }, loading());
	replace(view, head, body);

	const poll = poller(ctx);
	let current = null;

	async function load() {
		poll.cancel();
		const d = await guarded(() => api.get(path));
		if (!poll.alive())
			return;
		if (d) {
			current = d;
			render(d);
		}
		// Keep polling while the rollout is live, and after a failed poll (the server may be back).
		if (!d || LIVE.has(d.state))
			poll.later(load, REFRESH_MS);
	}

	async function act(a) {
		const d = current;
		const ok = await confirmAction(`${a.label} deployment`, a.why,
			[['Module', d.module], ['Versions', `${d.from_version ? `v${d.from_version}` : 'none'} → v${d.to_version}`], ['State now', d.state]],
			a.label);
		if (!ok)
			return;
		const res = await guarded(() => api.post(`${path}/${a.key}`, {}));
		if (res && res.id) {
			current = res;
			render(res);
		}
		load();
	}

	async function rollback() {
		const d = current;
		const target = d.from_version;
		const ok = await confirmAction('Roll back module',
			`Start a new deployment of ${d.module} back to ${target ? `v${target}` : 'the version it ran before'}, on every PoP at once.`,
			[['Module', d.module], ['Back to', target ? `v${target}` : 'previous version'], ['Strategy', 'immediate']],
			'Roll back');
		if (!ok)
			return;
		const body = { strategy: 'immediate' };
		if (target)
			body.to_version = target;
		const res = await guarded(() => api.post(p('v1', 'tenants', tenant, 'modules', d.module, 'rollback'), body));
		if (res && res.id)
			ctx.go(route('t', tenant, 'deployments', res.id));
	}

	function render(d) {
		const waves = Array.isArray(d.waves) ? d.waves : [];
		const pops = Array.isArray(d.pops) ? d.pops : [];
		const events = Array.isArray(d.events) ? d.events : [];
		const controls = ctx.canAct ? h('div', { class: 'controls' },
			ACTIONS.filter((a) => a.states.includes(d.state) && (!a.when || a.when(d))).map((a) =>
				h('button', { type: 'button', class: ['action', a.danger ? 'danger' : null], 'data-action': a.key, onclick: () => act(a) }, `${a.label}…`)),
			LIVE.has(d.state) ? null
				: h('button', { type: 'button', class: 'action danger', 'data-action': 'rollback', onclick: rollback }, 'Roll back…')) : null;

		replace(body,
			h('section', { class: 'card summary' },
				h('dl', { class: 'kv' },
					h('dt', null, 'Module'), h('dd', { id: 'dep-module-name' }, d.module),
					h('dt', null, 'Versions'), h('dd', null, `${d.from_version ? `v${d.from_version}` : 'none'} → v${d.to_version}`),
					h('dt', null, 'State'), h('dd', { id: 'dep-state' }, badge(d.state), LIVE.has(d.state) ? h('span', { class: 'muted live' }, ' (live)') : null),
					// Waves are numbered as the API numbers them (from 0), so that the server's reasons and
					// events ("wave 0 failed its gate") match what the page shows.
					h('dt', null, 'Current wave'), h('dd', { id: 'dep-current-wave' }, d.current_wave === null || d.current_wave === undefined ? '—'
						: `wave ${d.current_wave}${waves.length ? ` (${d.current_wave + 1} of ${waves.length})` : ''}`),
					h('dt', null, 'Strategy'), h('dd', { title: JSON.stringify(d.strategy) }, strategyText(d.strategy)),
					h('dt', null, 'Started'), h('dd', null, when(d.created_at)),
					h('dt', null, 'Updated'), h('dd', null, when(d.updated_at))),
				d.reason ? h('p', { class: ['reason', `reason-${['paused', 'failed', 'rolled_back', 'aborted'].includes(d.state) ? 'bad' : 'info'}`], id: 'dep-reason' },
					h('strong', null, d.state === 'rolled_back' ? 'Rolled back: ' : d.state === 'paused' ? 'Paused: ' : 'Reason: '), String(d.reason)) : null,
				controls),
			h('h2', null, 'Waves'),
			h('ol', { class: 'waves' }, waves.map((w) => {
				const pr = waveProgress(d, w);
				return h('li', { class: ['wave', `wave-${w.state}`, w.index === d.current_wave ? 'current' : null], 'data-wave': w.index, 'data-state': w.state },
					h('div', { class: 'wave-head' },
						h('span', { class: 'wave-name' }, `Wave ${w.index}`), badge(w.state),
						h('span', { class: 'wave-count' }, `${pr.done}/${pr.total} PoPs`)),
					h('progress', { max: pr.total || 1, value: pr.done, 'aria-label': `wave ${w.index} progress` }),
					h('div', { class: 'wave-pops muted' }, (w.pops || []).join(', ')));
			})),
			h('h2', null, 'PoPs'),
			table([
				{ label: 'PoP', cell: (x) => h('strong', null, x.pop) },
				{ label: 'Desired', cell: (x) => (x.desired_version ? `v${x.desired_version}` : '—') },
				{ label: 'Observed', cell: (x) => (x.observed_version ? `v${x.observed_version}` : '—') },
				{ label: 'State', cell: (x) => badge(x.state) },
			], pops, { class: 'dep-pops', rowClass: (x) => (x.state === 'stale' ? 'stale' : null), rowData: (x) => ({ pop: x.pop }) }),
			h('h2', null, 'Events'),
			h('ol', { class: 'timeline', id: 'events' }, events.length === 0 ? h('li', { class: 'muted' }, 'No events yet.')
				: events.slice().reverse().map((e) => h('li', { 'data-type': e.type },
					h('span', { class: 'ev-time' }, when(e.at)), ' ',
					h('span', { class: 'ev-type' }, e.type),
					e.wave === null || e.wave === undefined ? null : h('span', { class: 'ev-wave' }, ` wave ${e.wave}`),
					e.detail ? h('span', { class: 'ev-detail' }, ` — ${e.detail}`) : null))));
	}

	load();
}
