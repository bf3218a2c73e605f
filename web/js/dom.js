// DOM building without HTML parsing. Every string handed to h() becomes a Text node or an
// attribute value, so data from the API (tenant names, labels, hosts, error details) can never
// turn into markup or script: a tenant named <img src=x onerror=alert(1)> shows those characters.
// Nothing in the dashboard may use innerHTML, outerHTML, insertAdjacentHTML or document.write.

// Properties set as DOM properties rather than attributes (their live value matters).
const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'max', 'min']);

// h('a', {href: '#/fleet', class: 'x', onclick: fn}, 'text', childNode, [more])
export function h(tag, props, ...children) {
	const el = document.createElement(tag);
	if (props) {
		for (const [key, val] of Object.entries(props)) {
			if (val === undefined || val === null || val === false)
				continue;
			if (key === 'class') {
				el.className = Array.isArray(val) ? val.filter(Boolean).join(' ') : String(val);
			} else if (key === 'dataset') {
				for (const [dk, dv] of Object.entries(val))
					el.dataset[dk] = String(dv);
			} else if (key.startsWith('on')) {
				// Handlers must be functions: a string here would be inline script.
				if (typeof val !== 'function')
					throw new TypeError(`h(): ${key} must be a function`);
				el.addEventListener(key.slice(2), val);
			} else if (key === 'href') {
				el.setAttribute('href', safeHref(val));
			} else if (PROPS.has(key)) {
				el[key] = val;
			} else {
				el.setAttribute(key, val === true ? '' : String(val));
			}
		}
	}
	append(el, children);
	return el;
}

// Appends strings (as text), nodes and nested arrays; skips null, undefined and false.
export function append(el, children) {
	for (const c of [children].flat(Infinity)) {
		if (c === null || c === undefined || c === false)
			continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return el;
}

// Replaces every child of el.
export function replace(el, ...children) {
	el.replaceChildren();
	return append(el, children);
}

// Only in-page routes and same-origin paths are linked; anything else (javascript:, data:,
// other origins) is neutralised.
function safeHref(v) {
	const s = String(v);
	if (s.startsWith('#') || (s.startsWith('/') && !s.startsWith('//')))
		return s;
	return '#';
}

// A route link: segments are URL-encoded, so a slug or id cannot change the route's shape.
export function route(...segments) {
	return '#/' + segments.map((s) => encodeURIComponent(String(s))).join('/');
}
