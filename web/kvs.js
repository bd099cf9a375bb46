// kvs's index page: lists the keys of a branch a page at a time (GET
// _keys), each linked to its page in the key explorer, and sets a key: on
// the default branch through the classic face (POST ./ as a form), on
// another through POST _txn. The branch shown is in the URL's fragment
// (#branch=B), since the index page takes no query.
//
// Stored values are untrusted text: they only ever reach the page through
// textContent, never as markup. The secret is typed once and kept in
// localStorage ("kvs-secret") after a save succeeds, so it never leaves this
// browser except towards this server. It travels as the form field auth,
// which every web server passes to kvs (Apache drops Authorization headers
// unless configured), and as a bearer token on reads, which only stores with
// read_access: secret look at.
import { $, errorMessage, fillBranchSelect, getJson, keyPageUrl, note, relativeTime,
  rememberedSecret, rememberSecret as keepSecret } from './shared.js';

const PAGE_SIZE = 50;
const PREVIEW_BYTES = 200;
const TIME_REFRESH_MS = 30 * 1000;

const view = {
  prefix: '',
  pageStarts: [''], // pageStarts[i]: the key after which page i starts
  page: 0,
  entries: [], // the _keys entries shown
  clockOffsetMs: 0, // server clock minus this browser's clock
  branch: '', // '' for the default branch
  defaultBranch: '',
};

// ---- The secret ---------------------------------------------------------

function rememberSecret(secret) {
  keepSecret(secret);
  showSecretState();
}

// The secret to send: the remembered one, else what is typed.
function currentSecret() {
  return rememberedSecret() || $('secret').value;
}

function showSecretState() {
  const remembered = rememberedSecret() !== '';
  $('secret-entry').hidden = remembered;
  $('secret-remembered').hidden = !remembered;
  if (remembered) $('secret').value = '';
}

// ---- Talking to kvs -----------------------------------------------------

async function fetchKeys(after) {
  const query = new URLSearchParams({
    values: String(PREVIEW_BYTES),
    limit: String(PAGE_SIZE),
  });
  if (view.prefix) query.set('prefix', view.prefix);
  if (after) query.set('gt', after);
  if (view.branch) query.set('branch', view.branch);
  const headers = {};
  const secret = currentSecret();
  if (secret) headers.Authorization = 'Bearer ' + secret;
  const response = await fetch('_keys?' + query, { headers, cache: 'no-store' });
  if (!response.ok) {
    let message = await errorMessage(response);
    if (response.status === 403) {
      message += ' Type the secret in the form below, then filter again.';
    }
    throw new Error(message);
  }
  return response.json();
}

// ---- The table ----------------------------------------------------------

function updateTimes() {
  const now = Date.now() + view.clockOffsetMs;
  for (const cell of document.querySelectorAll('#keys td.updated')) {
    cell.textContent = relativeTime(now - Number(cell.dataset.time));
  }
}

function valueCell(entry) {
  const cell = document.createElement('td');
  cell.className = 'value';
  if (entry.encoding === 'base64') {
    cell.append(note(`binary, ${entry.size} bytes`));
  } else if (entry.deleted) {
    cell.append(note('deleted'));
  } else {
    cell.textContent = entry.value + (entry.truncated ? '…' : '');
    if (entry.value === '' && !entry.truncated) cell.append(note('empty'));
  }
  return cell;
}

function keyRow(entry) {
  const row = document.createElement('tr');
  row.dataset.key = entry.key;

  const keyCell = document.createElement('td');
  keyCell.className = 'key';
  const keyLink = document.createElement('a');
  keyLink.href = keyPageUrl('', entry.key, view.branch);
  keyLink.title = 'Its value, history and forks';
  keyLink.textContent = entry.key;
  keyCell.append(keyLink);
  if (entry.conflict) {
    const mark = document.createElement('span');
    mark.className = 'conflict';
    mark.textContent = 'conflict';
    mark.title = entry.deleted
      ? 'A delete and a concurrent write left more than one head; the delete wins reads.'
      : 'Concurrent writes left more than one head; this is the winner.';
    keyCell.append(mark);
  }

  const updated = document.createElement('td');
  updated.className = 'updated';
  const time = Date.parse(entry.updated);
  updated.dataset.time = String(time);
  updated.title = new Date(time).toLocaleString();

  const revision = document.createElement('td');
  revision.className = 'revision';
  revision.textContent = String(entry.revision);

  const edit = document.createElement('td');
  edit.className = 'edit';
  const editButton = document.createElement('button');
  editButton.type = 'button';
  editButton.textContent = 'Edit';
  editButton.setAttribute('aria-label', `Edit ${entry.key}`);
  editButton.addEventListener('click', () => editKey(entry));
  edit.append(editButton);

  row.append(keyCell, valueCell(entry), updated, revision, edit);
  return row;
}

function render(listing) {
  view.entries = listing.keys;
  view.clockOffsetMs = Date.parse(listing.now) - Date.now();
  const body = document.querySelector('#keys tbody');
  body.replaceChildren(...listing.keys.map(keyRow));
  updateTimes();

  const first = view.page * PAGE_SIZE + 1;
  const last = view.page * PAGE_SIZE + listing.keys.length;
  $('page-info').textContent = listing.keys.length ? `keys ${first}–${last}` : '';
  $('empty').hidden = listing.keys.length > 0 || view.page > 0;
  $('empty').textContent = view.prefix
    ? `No keys start with “${view.prefix}”.`
    : 'No keys yet. Set one below.';
  $('first-page').disabled = view.page === 0;
  $('next-page').disabled = !listing.more;
  if (listing.more) {
    view.pageStarts[view.page + 1] = listing.keys[listing.keys.length - 1].key;
  }
}

async function load() {
  const status = $('load-status');
  try {
    render(await fetchKeys(view.pageStarts[view.page]));
    status.textContent = '';
    status.className = 'status';
  } catch (error) {
    status.textContent = error.message;
    status.className = 'status error';
  }
}

function goToPage(page) {
  view.page = page;
  view.pageStarts.length = page + 1;
  load();
}

// ---- The form -----------------------------------------------------------

async function editKey(entry) {
  $('set-key').value = entry.key;
  const status = $('set-status');
  status.className = 'status';
  status.textContent = '';
  if (entry.encoding === 'base64') {
    $('set-value').value = '';
    status.textContent = `“${entry.key}” holds binary data; saving replaces it.`;
    return;
  }
  if (!entry.truncated) {
    $('set-value').value = entry.value;
  } else {
    const headers = {};
    const secret = currentSecret();
    if (secret) headers.Authorization = 'Bearer ' + secret;
    const response = await fetch(`_versions/${entry.version}/value`, {
      headers,
      cache: 'no-store',
    });
    if (response.ok) {
      $('set-value').value = await response.text();
    } else {
      status.textContent = await errorMessage(response);
      status.className = 'status error';
    }
  }
  $('set-value').focus();
}

// Writes key=value: on the default branch as a form post, the index
// page's way since its first version (Apache passes no Authorization
// header unless told to); on another branch as a transaction there.
function write(key, value, secret) {
  if (view.branch && view.branch !== view.defaultBranch) {
    return fetch('_txn', {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + secret },
      body: JSON.stringify({ branch: view.branch, set: { [key]: value } }),
    });
  }
  const form = new URLSearchParams();
  form.append('auth', secret);
  form.append(key, value);
  return fetch('./?format=json', { method: 'POST', body: form });
}

async function saveKey(event) {
  event.preventDefault();
  const status = $('set-status');
  const key = $('set-key').value;
  const secret = currentSecret();
  status.className = 'status error';
  if (key === 'auth') {
    status.textContent = 'The key “auth” names the secret in a form post; choose another key.';
    return;
  }
  if (!secret) {
    status.textContent = 'Type the secret first.';
    $('secret').focus();
    return;
  }
  status.className = 'status';
  status.textContent = 'Saving…';
  $('set-submit').disabled = true;
  try {
    const response = await write(key, $('set-value').value, secret);
    if (response.ok) {
      const result = await response.json();
      rememberSecret(secret);
      status.textContent = `Saved revision ${result.revision}.`;
      status.className = 'status ok';
      await load();
    } else {
      status.textContent = await errorMessage(response);
      status.className = 'status error';
      if (response.status === 403 && rememberedSecret()) {
        rememberSecret(''); // it no longer works: ask for it again
      }
    }
  } catch (error) {
    status.textContent = 'The server could not be reached: ' + error.message;
    status.className = 'status error';
  } finally {
    $('set-submit').disabled = false;
  }
}

// ---- Start --------------------------------------------------------------

function start() {
  const here = location.origin + location.pathname;
  for (const span of document.querySelectorAll('.base-url')) span.textContent = here;

  $('filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    view.prefix = $('prefix').value;
    goToPage(0);
  });
  $('first-page').addEventListener('click', () => goToPage(0));
  $('next-page').addEventListener('click', () => goToPage(view.page + 1));
  $('set-form').addEventListener('submit', saveKey);
  $('forget-secret').addEventListener('click', () => {
    rememberSecret('');
    $('secret').focus();
  });
  $('branch-select').addEventListener('change', () => {
    const branch = $('branch-select').value;
    location.hash = branch === view.defaultBranch ? '' : new URLSearchParams({ branch }).toString();
  });
  window.addEventListener('hashchange', () => {
    readBranch();
    goToPage(0);
  });
  readBranch();
  showSecretState();
  // Interactive once the first page of keys is shown: bench/explorer_bench
  // reads this mark as its reference.
  load().then(() => performance.mark('kvs-ready'));
  loadBranches();
  setInterval(updateTimes, TIME_REFRESH_MS);
}

function readBranch() {
  view.branch = new URLSearchParams(location.hash.slice(1)).get('branch') || '';
  const select = $('branch-select');
  if (view.branch && select.options.length) select.value = view.branch;
  const suffix = view.branch ? '?' + new URLSearchParams({ branch: view.branch }) : '';
  $('log-link').href = '_ui/log' + suffix;
}

// The branch switcher: the store's branches, the default one named by _log.
async function loadBranches() {
  try {
    view.defaultBranch = (await getJson('_log?limit=1')).branch;
    await fillBranchSelect('', $('branch-select'), view.branch || view.defaultBranch);
  } catch (error) {
    $('load-status').textContent = error.message;
    $('load-status').className = 'status error';
  }
}

start();
