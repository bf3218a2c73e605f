// Sign-in by pasting an API token. The form never submits anywhere (no action, no GET query):
// the token goes from the field to sessionStorage and the Authorization header only.
import { h } from '../dom.js';
import { identify } from '../session.js';

export function signinView({ message, onSignedIn }) {
	const token = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'off',
		spellcheck: 'false', required: true, placeholder: 'ept_…', 'aria-describedby': 'token-help' });
	const tenant = h('input', { type: 'text', id: 'tenant', name: 'tenant', autocomplete: 'off',
		spellcheck: 'false', pattern: '[a-z0-9][a-z0-9-]{0,62}', placeholder: 'optional: found from the token' });
	const msg = h('p', { class: 'signin-error', role: 'alert', id: 'signin-error', hidden: !message }, message || '');
	const button = h('button', { type: 'submit', class: 'primary', id: 'signin' }, 'Sign in');
	const form = h('form', { class: 'signin', autocomplete: 'off', onsubmit: async (ev) => {
		ev.preventDefault();
		msg.hidden = true;
		button.disabled = true;
		try {
			const s = await identify(token.value.trim(), tenant.value);
			token.value = '';
			await onSignedIn(s);
		} catch (e) {
			msg.textContent = e.detail ? `${e.title}: ${e.detail}` : (e.message || String(e));
			msg.hidden = false;
		} finally {
			button.disabled = false;
		}
	} },
	h('h1', null, 'Edgeplane'),
	h('p', { id: 'token-help' }, 'Paste an API token (admin, deployer or reader). It is kept in this tab only and is forgotten when the tab closes.'),
	h('label', { for: 'token' }, 'API token'), token,
	h('label', { for: 'tenant' }, 'Tenant (optional)'), tenant,
	msg, button);
	return h('section', { class: 'signin-page' }, form);
}
