// The dashboard shell: sign-in, the navigation bar, the tenant picker (admins see every tenant;
// other tokens are bound to one) and a hash router (#/fleet, #/t/<tenant>/deployments/<id>, …)
// so that reloading a page or sharing a link keeps the view, never the token.
import { h, replace, route } from './dom.js';
import { Api } from './api.js';
import * as session from './session.js';
import { showError } from './ui.js';
import { signinView } from './views/signin.js';
import { fleetView } from './views/fleet.js';
import { deploymentsView } from './views/deployments.js';
import { deploymentView } from './views/deployment.js';
import { modulesView, moduleView } from './views/modules.js';
import { routesView } from './views/routes.js';
import { auditView } from './views/audit.js';

const app = {
	s: null,          // {token, role, tenant, tenants}
	api: null,
	cleanup: [],      // timers and listeners of the current view
};

const KEY_ADMIN_TENANT = 'edgeplane.adminTenant';

function signOut(message) {
	session.clear();
	app.s = null;
	app.api = null;
	runCleanup();
	renderSignin(message);
}

function runCleanup() {
	for (const fn of app.cleanup.splice(0))
		try {
			fn();
		} catch {
			// a view's cleanup failing must not keep the next view from rendering
		}
}

async function start() {
	const s = session.saved();
	if (!s) {
		renderSignin();
		return;
	}
	try {
		// Re-identify on reload: the role could have changed (token revoked, tenant deleted).
		await signedIn(await session.identify(s.token, s.tenant));
	} catch (e) {
		session.clear();
		renderSignin(e.detail || e.message);
	}
}

function renderSignin(message) {
	const root = document.getElementById('app');
	replace(root, signinView({
		message,
		onSignedIn: (s) => signedIn(s),
	}));
	document.title = 'Sign in · Edgeplane';
}

async function signedIn(s) {
	session.save(s);
	app.s = s;
	app.api = new Api(s.token, () => signOut('Your token was refused (revoked or expired). Sign in again.'));
	if (s.role === 'admin' && !s.tenant) {
		const remembered = sessionStorage.getItem(KEY_ADMIN_TENANT);
		const slugs = s.tenants.map((t) => t.slug);
		s.tenant = slugs.includes(remembered) ? remembered : (slugs[0] || '');
	}
	renderShell();
	if (!location.hash || location.hash === '#' || location.hash === '#/')
		location.hash = '#/fleet';
	else
		renderRoute();
}

function tenantPicker() {
	const s = app.s;
	if (s.role !== 'admin')
		return h('span', { class: 'tenant-fixed', title: 'tenant of this token' }, s.tenant);
	const sel = h('select', { id: 'tenant-picker', 'aria-label': 'Tenant', onchange: () => {
		s.tenant = sel.value;
		sessionStorage.setItem(KEY_ADMIN_TENANT, s.tenant);
		const r = parseRoute();
		// Stay on the same kind of page for the new tenant.
		if (r.tenant)
			location.hash = route('t', s.tenant, r.section || 'deployments');
		else
			renderRoute();
	} }, s.tenants.map((t) => h('option', { value: t.slug, selected: t.slug === s.tenant },
		t.name && t.name !== t.slug ? `${t.name} (${t.slug})` : t.slug)));
	return sel;
}

function renderShell() {
	const s = app.s;
	const root = document.getElementById('app');
	const nav = h('nav', { class: 'main-nav', 'aria-label': 'Main' });
	replace(root,
		h('header', { class: 'top' },
			h('a', { class: 'brand', href: '#/fleet' }, 'Edgeplane'),
			nav,
			h('div', { class: 'who' },
				h('label', { class: 'tenant' }, 'Tenant ', tenantPicker()),
				h('span', { class: ['role', `role-${s.role}`], id: 'role' }, s.role),
				h('button', { type: 'button', id: 'signout', onclick: () => signOut() }, 'Sign out'))),
		h('div', { id: 'error', class: 'problem', role: 'alert', hidden: true }),
		h('main', { id: 'view' }));
	renderNav();
}

function renderNav() {
	const nav = document.querySelector('nav.main-nav');
	if (!nav)
		return;
	const t = app.s.tenant;
	const r = parseRoute();
	const items = [['fleet', '#/fleet', 'Fleet']];
	if (t) {
		items.push(['deployments', route('t', t, 'deployments'), 'Deployments']);
		items.push(['modules', route('t', t, 'modules'), 'Modules']);
		items.push(['routes', route('t', t, 'routes'), 'Routes']);
	}
	items.push(['audit', '#/audit', 'Audit log']);
	replace(nav, items.map(([key, href, label]) =>
		h('a', { href, class: r.section === key ? 'active' : null, 'data-nav': key, onclick: (ev) => {
			// The same link again: no hashchange fires, so reload the view by hand.
			if (location.hash === href) {
				ev.preventDefault();
				renderRoute();
			}
		} }, label)));
}

// '#/t/acme/deployments/ID' → {section: 'deployments', tenant: 'acme', id: 'ID'}
function parseRoute() {
	const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((x) => {
		try {
			return decodeURIComponent(x);
		} catch {
			return '';
		}
	});
	if (parts[0] === 't' && parts.length >= 3)
		return { section: parts[2], tenant: parts[1], id: parts[3] || null };
	return { section: parts[0] || 'fleet', tenant: null, id: parts[1] || null };
}

function renderRoute() {
	if (!app.s)
		return;
	runCleanup();
	showError(null);
	const r = parseRoute();
	const s = app.s;
	if (r.tenant && r.tenant !== s.tenant) {
		if (s.role === 'admin') {
			s.tenant = r.tenant;
			sessionStorage.setItem(KEY_ADMIN_TENANT, s.tenant);
			const picker = document.getElementById('tenant-picker');
			if (picker)
				picker.value = s.tenant;
		} else {
			location.hash = route('t', s.tenant, r.section);
			return;
		}
	}
	renderNav();
	const view = document.getElementById('view');
	const ctx = {
		api: app.api,
		role: s.role,
		canAct: s.role === 'admin' || s.role === 'deployer',
		tenant: s.tenant,
		tenants: s.tenants,
		id: r.id,
		view,
		onCleanup: (fn) => app.cleanup.push(fn),
		go: (hash) => {
			location.hash = hash;
		},
	};
	const views = {
		fleet: fleetView,
		deployments: r.id ? deploymentView : deploymentsView,
		modules: r.id ? moduleView : modulesView,
		routes: routesView,
		audit: auditView,
	};
	const fn = views[r.section];
	if (!fn || (r.tenant === null && ['deployments', 'modules', 'routes'].includes(r.section))) {
		replace(view, h('h1', null, 'Not found'), h('p', null, 'There is no such page. ', h('a', { href: '#/fleet' }, 'Go to the fleet.')));
		return;
	}
	document.title = `${r.section[0].toUpperCase()}${r.section.slice(1)} · Edgeplane`;
	fn(ctx);
}

window.addEventListener('hashchange', renderRoute);
start();
