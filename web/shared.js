// What every page of kvs shares: the secret kept in this browser, reading
// kvs's JSON endpoints, error messages, times, and links to the explorer.
//
// Stored data (keys, values, branch names) is untrusted text: it only ever
// reaches a page through textContent or an attribute, never as markup.
// Every URL is relative to the page that imports this (each page passes its
// way up to the mount root, `root`), so kvs works under any mount point.

const SECRET_STORAGE_KEY = 'kvs-secret';

export const $ = (id) => document.getElementById(id);

// ---- The secret ---------------------------------------------------------

// The secret this browser remembers ('' when none), in localStorage after
// the first successful write of any page.
export function rememberedSecret() {
  try {
    return localStorage.getItem(SECRET_STORAGE_KEY) || '';
  } catch (e) {
    return ''; // storage disabled: the secret is typed each time
  }
}

export function rememberSecret(secret) {
  try {
    if (secret) {
      localStorage.setItem(SECRET_STORAGE_KEY, secret);
    } else {
      localStorage.removeItem(SECRET_STORAGE_KEY);
    }
  } catch (e) {
    // Storage disabled: nothing is remembered.
  }
}

// For a store whose reads need the secret (read_access: secret) when this
// browser has none that works: a form after the element `after` whose
// secret is remembered and then `retry` called. A remembered secret that
// was refused is forgotten first.
export function askForSecret(after, retry) {
  rememberSecret('');
  let form = $('read-secret-form');
  if (!form) {
    form = document.createElement('form');
    form.id = 'read-secret-form';
    form.className = 'row';
    const label = document.createElement('label');
    label.htmlFor = 'read-secret';
    label.textContent = 'Reading this store needs the secret';
    const input = document.createElement('input');
    input.id = 'read-secret';
    input.type = 'password';
    input.autocomplete = 'current-password';
    const button = document.createElement('button');
    button.type = 'submit';
    button.textContent = 'Read';
    form.append(label, input, button);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      rememberSecret(input.value);
      form.remove();
      retry();
    });
    after.after(form);
  }
  $('read-secret').focus();
}

// The headers that carry secret (if any) as a bearer token.
export function authHeaders(secret = rememberedSecret()) {
  return secret ? { Authorization: 'Bearer ' + secret } : {};
}

// ---- Talking to kvs -----------------------------------------------------

// The message of an error response: JSON {"message"} or plain text.
export async function errorMessage(response) {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed.message === 'string') return parsed.message;
  } catch (e) {
    // Not JSON: the text itself.
  }
  return text.trim() || `${response.status} ${response.statusText}`;
}

// An error whose message is kvs's, and which keeps the answer's status.
export class KvsError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.status = status;
    this.body = body; // the parsed JSON answer, when there was one
  }
}

async function failure(response) {
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (e) {
    // Not JSON.
  }
  const message =
    body && typeof body.message === 'string'
      ? body.message
      : text.trim() || `${response.status} ${response.statusText}`;
  return new KvsError(response.status, message, body);
}

// GET url as JSON, with the remembered secret; throws KvsError.
export async function getJson(url) {
  const response = await fetch(url, { headers: authHeaders(), cache: 'no-store' });
  if (!response.ok) throw await failure(response);
  return response.json();
}

// Sends a write with the secret as a bearer token; answers the parsed JSON,
// throws KvsError. A 403 with the remembered secret forgets it (it no
// longer works), so the page asks for it again.
export async function send(method, url, secret, body = undefined) {
  const response = await fetch(url, { method, headers: authHeaders(secret), body });
  if (!response.ok) {
    const error = await failure(response);
    if (response.status === 403 && secret === rememberedSecret()) rememberSecret('');
    throw error;
  }
  rememberSecret(secret);
  return response.json();
}

// The raw bytes of a version's value, with what a page shows of them: text
// when they are UTF-8 (pretty-printed when the version was written as JSON,
// or the text is a JSON object or array), else binary.
export async function fetchValue(root, version) {
  const response = await fetch(`${root}_versions/${version.id}/value`, {
    headers: authHeaders(),
  });
  if (!response.ok) throw await failure(response);
  const bytes = new Uint8Array(await response.arrayBuffer());
  return describeValue(bytes, Boolean(version.json));
}

// text without the white space JSON allows between its tokens.
function minifiedJson(text) {
  let out = '';
  let inString = false;
  let escaped = false;
  for (const c of text) {
    if (inString) {
      out += c;
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (!' \t\n\r'.includes(c)) {
      out += c;
    }
  }
  return out;
}

export function describeValue(bytes, json) {
  let text = null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    // Not UTF-8: binary.
  }
  let pretty = null;
  if (text !== null && (json || /^\s*[[{]/.test(text))) {
    try {
      // Only laid out again, never changed: where JavaScript would read
      // another value (a number past its precision, a member named twice,
      // an escape it writes otherwise), the text is shown as it is.
      const parsed = JSON.parse(text);
      if (JSON.stringify(parsed) === minifiedJson(text)) pretty = JSON.stringify(parsed, null, 2);
    } catch (e) {
      // Not JSON after all.
    }
  }
  return { bytes, text, pretty, binary: text === null };
}

// Fills element with a value as a user reads it: the text, pretty JSON,
// or for bytes that are not UTF-8 their size, a download link and the text
// they decode to with U+FFFD for the bad bytes. Always as text.
export function showValue(element, value, downloadUrl, fileName) {
  element.replaceChildren();
  element.classList.toggle('binary', value.binary);
  if (!value.binary) {
    element.textContent = value.pretty ?? value.text;
    if (value.text === '') element.append(note('empty'));
    return;
  }
  const link = document.createElement('a');
  link.href = downloadUrl;
  link.download = fileName;
  link.textContent = 'download';
  element.append(note(`binary, ${value.bytes.length} bytes, not UTF-8 — `), link);
  const lossy = document.createElement('span');
  lossy.className = 'lossy';
  lossy.textContent = new TextDecoder('utf-8').decode(value.bytes);
  element.append('\n', lossy);
}

export function note(text) {
  const span = document.createElement('span');
  span.className = 'note';
  span.textContent = text;
  return span;
}

// ---- Words and links ----------------------------------------------------

// "just now", "1 minute ago", "3 hours ago", ... for an age in milliseconds.
export function relativeTime(ageMs) {
  const seconds = Math.max(0, Math.round(ageMs / 1000));
  if (seconds < 45) return 'just now';
  const steps = [
    ['minute', 60, 60],
    ['hour', 3600, 24],
    ['day', 86400, 30],
    ['month', 30 * 86400, 12],
    ['year', 365 * 86400, Infinity],
  ];
  for (const [unit, size, limit] of steps) {
    const count = Math.max(1, Math.round(seconds / size));
    if (count < limit) return count === 1 ? `1 ${unit} ago` : `${count} ${unit}s ago`;
  }
  return 'long ago';
}

export function shortId(id) {
  return id.slice(0, 8);
}

// The time of an RFC 3339 string as this browser shows times.
export function localTime(rfc3339) {
  return new Date(Date.parse(rfc3339)).toLocaleString();
}

// The key's page. A key is one percent-encoded path segment; a key with a
// path component starting with "." (which web servers refuse in paths) is
// named in the query instead.
export function keyPageUrl(root, key, branch = '') {
  const query = new URLSearchParams();
  let path = `${root}_ui/keys/`;
  if (key.split('/').some((part) => part.startsWith('.'))) {
    query.set('key', key);
  } else {
    path += encodeURIComponent(key);
  }
  if (branch) query.set('branch', branch);
  const search = query.toString();
  return search ? `${path}?${search}` : path;
}

// Fills a <select> with the store's branches (fetched unless given as
// names), selecting `selected`; returns the names.
export async function fillBranchSelect(root, select, selected, names = null) {
  names ??= (await getJson(`${root}_branches`)).branches.map((branch) => branch.name);
  names = [...names];
  if (selected && !names.includes(selected)) names.push(selected);
  select.replaceChildren(
    ...names.map((name) => {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      option.selected = name === selected;
      return option;
    }),
  );
  return names;
}
