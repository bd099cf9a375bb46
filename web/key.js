// The key explorer's page of one key (key.html): reads the key and branch
// from the page's URL, then the key's heads (GET _heads), its version graph
// a page at a time (GET _graph, newest first), values by version (GET
// _versions/ID/value), the key at a past point (GET _heads?at=), and
// resolves a fork with POST _create naming every head as a parent.
import { askForSecret, fetchValue, fillBranchSelect, getJson, keyPageUrl, localTime, note,
  rememberedSecret, send, shortId, showValue, $ } from './shared.js';
import { drawGraph, describeVersion } from './graph.js';
import { chooseMode, renderDiff } from './diff.js';

const ROOT = '../../';
const PAGE_SIZE = 100;
// _graph goes on from at most this many ids; the rest wait for a later page.
const MAX_NEXT_IDS = 100;

const state = {
  key: '',
  branch: '', // as the URL names it; '' for the default branch
  branchShown: '', // the branch the answers were for
  heads: [], // metadata, winner first
  versions: [], // loaded, newest first
  byId: new Map(),
  next: [], // where the next page starts
  picked: [], // ids, at most two, in the order picked
  nodes: new Map(),
  focusId: '', // the graph node that holds the graph's Tab stop
  travelledId: '', // the version time travel shows, marked in the graph
  values: new Map(), // id -> Promise of a value (shared.js describeValue)
  travelRevisions: [],
};

// ---- The URL ------------------------------------------------------------

// The key the URL names: ?key=K, else the path segment after _ui/keys/.
function keyFromUrl() {
  const query = new URLSearchParams(location.search);
  if (query.has('key')) return query.get('key');
  const marker = '/_ui/keys/';
  const path = location.pathname;
  return decodeURIComponent(path.slice(path.indexOf(marker) + marker.length));
}

function keyQuery(more = {}) {
  const query = new URLSearchParams({ key: state.key, ...more });
  if (state.branch) query.set('branch', state.branch);
  return query;
}

function setStatus(id, text, kind = '') {
  $(id).textContent = text;
  $(id).className = kind ? `status ${kind}` : 'status';
}

function valueOf(version) {
  if (!state.values.has(version.id)) state.values.set(version.id, fetchValue(ROOT, version));
  return state.values.get(version.id);
}

function valueUrl(version) {
  return `${ROOT}_versions/${version.id}/value`;
}

function fileName(version) {
  return `${state.key.replaceAll('/', '_')}-${shortId(version.id)}`;
}

// ---- The current value --------------------------------------------------

async function showCurrent() {
  const winner = state.heads[0];
  const value = $('current-value');
  if (!winner) {
    $('current-revision').textContent = '—';
    $('current-time').textContent = '—';
    $('current-version').textContent = '—';
    value.replaceChildren(note(`no version on branch ${state.branchShown}`));
    return;
  }
  $('current-revision').textContent = String(winner.revision);
  $('current-time').textContent = localTime(winner.time);
  $('current-time').title = winner.time;
  $('current-version').textContent = winner.id;
  if (winner.deleted) {
    value.replaceChildren(note('deleted: the newest version is a delete'));
    return;
  }
  showValue(value, await valueOf(winner), valueUrl(winner), fileName(winner));
}

// ---- The graph ----------------------------------------------------------

function marksOf(version) {
  const marks = [];
  const head = state.heads.findIndex((h) => h.id === version.id);
  if (head === 0) marks.push(state.heads.length > 1 ? 'winner' : 'head');
  if (head > 0) marks.push('head');
  if (version.parents.length > 1) marks.push('merge');
  if (state.picked.includes(version.id)) marks.push('picked');
  return marks;
}

function drawHistory() {
  state.nodes = drawGraph(
    $('graph'),
    state.versions,
    marksOf,
    new Set(state.picked),
    `version graph of ${state.key}, newest first`,
  );
  // One Tab stop for the whole graph (the node last focused, else the
  // newest); the arrow keys, Home and End move between nodes.
  const nodes = [...state.nodes.values()];
  const current = state.nodes.get(state.focusId) ?? nodes[0];
  nodes.forEach((node, i) => {
    node.setAttribute('tabindex', node === current ? '0' : '-1');
    node.addEventListener('click', () => pick(node.version.id));
    node.addEventListener('keydown', (event) => {
      const move = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: nodes.length - 1 }[event.key];
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        pick(node.version.id);
      } else if (move !== undefined && nodes[move]) {
        event.preventDefault();
        node.setAttribute('tabindex', '-1');
        nodes[move].setAttribute('tabindex', '0');
        nodes[move].focus();
      }
    });
    node.addEventListener('focus', () => {
      state.focusId = node.version.id;
    });
    node.addEventListener('mouseenter', () => showNodeInfo(node));
    node.addEventListener('focus', () => showNodeInfo(node));
    node.addEventListener('mouseleave', hideNodeInfo);
    node.addEventListener('blur', hideNodeInfo);
  });
  markTravelled(state.travelledId);
  const more = state.next.length > 0;
  $('more-versions').hidden = !more;
  $('graph-count').textContent =
    `${state.versions.length} version${state.versions.length === 1 ? '' : 's'} shown` +
    (more ? '; older ones not loaded yet' : '');
}

function showNodeInfo(node) {
  const info = $('node-info');
  const v = node.version;
  info.textContent = [
    `${shortId(v.id)} · revision ${v.revision}`,
    `time ${localTime(v.time)}`,
    `replica ${v.replica}`,
    v.deleted ? 'deleted' : `size ${v.size} bytes`,
  ].join('\n');
  const box = $('graph-box').getBoundingClientRect();
  const dot = node.querySelector('.dot').getBoundingClientRect();
  info.style.left = `${Math.max(0, dot.right - box.left + 12)}px`;
  info.style.top = `${dot.top - box.top + $('graph-box').scrollTop + 14}px`;
  info.hidden = false;
  node.setAttribute('aria-describedby', 'node-info');
}

function hideNodeInfo() {
  $('node-info').hidden = true;
}

// Adds a page of _graph to what is shown. `carried`: ids of next that were
// not sent (beyond MAX_NEXT_IDS), still to load.
function addVersions(page, carried = []) {
  for (const version of page.versions) {
    if (state.byId.has(version.id)) continue; // shown by an earlier page
    state.byId.set(version.id, version);
    state.versions.push(version);
  }
  // Newest first, across pages too: a carried start may be newer than
  // versions this page brought. Times here have milliseconds only, and
  // _graph orders by the nanosecond: the sort is stable, so versions of one
  // millisecond keep the order _graph gave them.
  state.versions.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
  state.next = [...new Set([...page.next, ...carried])].filter((id) => !state.byId.has(id));
}

async function loadMore() {
  const button = $('more-versions');
  button.disabled = true;
  try {
    const query = keyQuery({ limit: String(PAGE_SIZE) });
    // 16 hex digits name a version as surely as 64 (a clash is a 400, not a
    // wrong answer) and keep a wide graph's next page within a request line.
    const sent = state.next.slice(0, MAX_NEXT_IDS);
    for (const id of sent) query.append('id', id.slice(0, 16));
    addVersions(await getJson(`${ROOT}_graph?${query}`), state.next.slice(MAX_NEXT_IDS));
    drawHistory();
    updateTravelSlider();
  } catch (error) {
    setStatus('page-status', error.message, 'error');
  } finally {
    button.disabled = false;
  }
}

// ---- Picking versions: a value, a difference ----------------------------

function pick(id) {
  const at = state.picked.indexOf(id);
  if (at >= 0) {
    state.picked.splice(at, 1);
  } else {
    state.picked.push(id);
    if (state.picked.length > 2) state.picked.shift();
  }
  for (const [nodeId, node] of state.nodes) {
    const picked = state.picked.includes(nodeId);
    node.setAttribute('aria-pressed', picked ? 'true' : 'false');
    node.classList.toggle('picked', picked);
  }
  showPicked();
}

async function showPicked() {
  const last = state.picked[state.picked.length - 1];
  $('picked').hidden = !last;
  $('diff').hidden = state.picked.length < 2;
  if (!last) return;
  const version = state.byId.get(last);
  $('picked-id').textContent = shortId(version.id);
  $('picked-facts').textContent = describeVersion(version, marksOf(version));
  if (version.deleted) {
    $('picked-value').replaceChildren(note('a delete: no value'));
  } else {
    try {
      showValue($('picked-value'), await valueOf(version), valueUrl(version), fileName(version));
    } catch (error) {
      $('picked-value').replaceChildren(note(error.message));
    }
  }
  if (state.picked.length === 2) await showDiff(true);
}

// Text of a version for a difference: a delete is empty, bytes that are
// not UTF-8 read with U+FFFD.
async function diffText(version) {
  if (version.deleted) return '';
  const value = await valueOf(version);
  return value.text ?? new TextDecoder('utf-8').decode(value.bytes);
}

async function showDiff(chooseModeAnew) {
  // Older to newer, by the graph's order.
  const [older, newer] = state.picked
    .map((id) => state.byId.get(id))
    .sort((a, b) => state.versions.indexOf(b) - state.versions.indexOf(a));
  $('diff-from').textContent = shortId(older.id);
  $('diff-to').textContent = shortId(newer.id);
  try {
    const [a, b] = await Promise.all([diffText(older), diffText(newer)]);
    if (chooseModeAnew) $('diff-mode').value = chooseMode(a, b);
    const counts = renderDiff($('diff-output'), a, b, $('diff-mode').value);
    const unit = $('diff-mode').value === 'lines' ? 'line' : 'character';
    $('diff-summary').textContent =
      a === b
        ? 'the same value'
        : `${counts.insertions} ${unit}${counts.insertions === 1 ? '' : 's'} inserted, ` +
          `${counts.deletions} deleted`;
  } catch (error) {
    $('diff-output').replaceChildren(note(error.message));
  }
}

// ---- Time travel --------------------------------------------------------

function updateTravelSlider() {
  const revisions = [...new Set(state.versions.map((v) => v.revision))].sort((a, b) => a - b);
  state.travelRevisions = revisions;
  const slider = $('travel-slider');
  slider.max = String(Math.max(0, revisions.length - 1));
  slider.disabled = revisions.length === 0;
  if (!$('travel-at').value) slider.value = slider.max;
  slider.setAttribute('aria-valuetext', `revision ${revisions[Number(slider.value)] ?? ''}`);
}

// Marks the graph's node of the version time travel shows (none: id '').
function markTravelled(id) {
  state.travelledId = id;
  for (const [nodeId, node] of state.nodes) node.classList.toggle('travelled', nodeId === id);
}

async function travel(at) {
  const value = $('travel-value');
  value.hidden = true;
  markTravelled('');
  if (!at) {
    setStatus('travel-facts', 'Give a revision number or a time.', 'error');
    return;
  }
  const branch = state.branchShown;
  try {
    const { heads } = await getJson(`${ROOT}_heads?${keyQuery({ at })}`);
    if (heads.length === 0) {
      setStatus('travel-facts', `At ${at} the key had no version on ${branch}.`);
      return;
    }
    const version = heads[0];
    markTravelled(version.id);
    const others = heads.length - 1;
    setStatus(
      'travel-facts',
      `At ${at}: version ${shortId(version.id)} of revision ${version.revision}, ` +
        `written ${localTime(version.time)}` +
        (others ? `; the winner of ${heads.length} heads` : ''),
    );
    value.hidden = false;
    if (version.deleted) {
      value.replaceChildren(note('deleted at that point'));
    } else {
      showValue(value, await valueOf(version), valueUrl(version), fileName(version));
    }
  } catch (error) {
    setStatus('travel-facts', error.message, 'error');
  }
}

// ---- Forks --------------------------------------------------------------

function forkSecret() {
  return rememberedSecret() || $('fork-secret').value;
}

function showForks() {
  const forked = state.heads.length > 1;
  $('fork').hidden = !forked;
  $('fork-secret-entry').hidden = rememberedSecret() !== '';
  if (!forked) return;
  $('head-count').textContent = String(state.heads.length);
  const cards = state.heads.map((head, i) => {
    const card = document.createElement('article');
    card.className = 'head-card';
    card.dataset.id = head.id;
    const title = document.createElement('h3');
    title.textContent = `${i === 0 ? 'Winner' : 'Head'} ${shortId(head.id)}`;
    const facts = document.createElement('p');
    facts.className = 'muted';
    facts.textContent =
      `revision ${head.revision}, ${localTime(head.time)}, replica ${shortId(head.replica)}`;
    const value = document.createElement('pre');
    value.className = 'value';
    value.tabIndex = 0;
    value.setAttribute('aria-label', `value of head ${shortId(head.id)}`);
    const keep = document.createElement('button');
    keep.type = 'button';
    keep.className = 'keep';
    keep.textContent = head.deleted ? 'Keep the delete' : 'Keep this value';
    keep.setAttribute('aria-label', `${keep.textContent}: head ${shortId(head.id)}`);
    keep.addEventListener('click', () => resolve(head));
    if (head.deleted) {
      value.replaceChildren(note('deleted'));
    } else {
      valueOf(head).then(
        (v) => showValue(value, v, valueUrl(head), fileName(head)),
        (error) => value.replaceChildren(note(error.message)),
      );
    }
    card.append(title, facts, value, keep);
    return card;
  });
  $('heads').replaceChildren(...cards);
  // The merged value starts as the winner's, and is JSON when the heads
  // are: a merge of JSON values that came back as text would read as a
  // string from then on (/_txn, format=json).
  const winner = state.heads[0];
  if (!winner.deleted) {
    valueOf(winner).then((v) => {
      if (!$('merged-value').value && !v.binary) $('merged-value').value = v.text;
    });
  }
  $('merged-json').checked = state.heads.some((head) => head.json);
}

// Writes the resolution: a new version of the key whose parents are all
// the heads, holding `body` (bytes or text), or a delete when body is null;
// json keeps a kept head's JSON as JSON.
async function writeResolution(secret, body, json = false) {
  const query = new URLSearchParams({ key: state.key, branch: state.branchShown });
  for (const head of state.heads) query.append('prev', head.id);
  if (body === null) query.set('deleted', 'true');
  if (json) query.set('json', 'true');
  return send('POST', `${ROOT}_create?${query}`, secret, body ?? '');
}

async function resolveWith(describe, makeBody, json = false) {
  const secret = forkSecret();
  if (!secret) {
    setStatus('fork-status', 'Type the secret first.', 'error');
    $('fork-secret').focus();
    return;
  }
  for (const button of document.querySelectorAll('#fork button')) button.disabled = true;
  setStatus('fork-status', 'Saving…');
  try {
    await writeResolution(secret, await makeBody(), json);
    $('merged-value').value = '';
    setStatus('fork-status', '');
    await load();
    const heads = state.heads.length;
    setStatus(
      'page-status',
      heads === 1
        ? `Resolved: ${describe}. The key has one head again.`
        : `Saved ${describe}, but the key has ${heads} heads: someone wrote meanwhile.`,
      heads === 1 ? 'ok' : 'error',
    );
    $('page-status').focus();
  } catch (error) {
    setStatus('fork-status', error.message, 'error');
    $('fork-secret-entry').hidden = rememberedSecret() !== '';
  } finally {
    for (const button of document.querySelectorAll('#fork button')) button.disabled = false;
  }
}

function resolve(head) {
  return resolveWith(
    `kept head ${shortId(head.id)}`,
    async () => (head.deleted ? null : (await valueOf(head)).bytes),
    Boolean(head.json),
  );
}

// ---- Loading ------------------------------------------------------------

async function load() {
  const [graph, heads] = await Promise.all([
    getJson(`${ROOT}_graph?${keyQuery({ limit: String(PAGE_SIZE) })}`),
    getJson(`${ROOT}_heads?${keyQuery()}`),
  ]);
  state.branchShown = graph.branch;
  state.heads = heads.heads;
  state.versions = [];
  state.byId = new Map();
  state.picked = [];
  state.values = new Map();
  addVersions(graph);
  $('picked').hidden = true;
  $('diff').hidden = true;
  drawHistory();
  showForks();
  updateTravelSlider();
  await showCurrent();
}

async function start() {
  try {
    state.key = keyFromUrl();
  } catch (error) {
    setStatus('page-status', 'The URL does not name a key: ' + error.message, 'error');
    return;
  }
  state.branch = new URLSearchParams(location.search).get('branch') || '';
  $('key-name').textContent = state.key;
  document.title = `kvs: ${state.key}`;

  $('more-versions').addEventListener('click', loadMore);
  $('diff-mode').addEventListener('change', () => showDiff(false));
  $('travel-slider').addEventListener('input', () => {
    const revision = state.travelRevisions[Number($('travel-slider').value)];
    $('travel-slider').setAttribute('aria-valuetext', `revision ${revision}`);
    $('travel-at').value = String(revision);
    travel(String(revision));
  });
  $('travel-form').addEventListener('submit', (event) => {
    event.preventDefault();
    travel($('travel-at').value.trim());
  });
  $('merged-form').addEventListener('submit', (event) => {
    event.preventDefault();
    resolveWith('a merged value', async () => $('merged-value').value, $('merged-json').checked);
  });
  $('branch').addEventListener('change', () => {
    location.href = keyPageUrl(ROOT, state.key, $('branch').value);
  });

  openPage();
}

// Loads the page; again once a secret is typed when reads need it.
async function openPage() {
  try {
    await load();
    const names = await fillBranchSelect(ROOT, $('branch'), state.branchShown);
    $('log-link').href = `../log?${new URLSearchParams({ branch: state.branchShown })}`;
    $('home-link').href = `${ROOT}#${new URLSearchParams({ branch: state.branchShown })}`;
    $('branch').disabled = names.length < 2;
    setStatus('page-status', '');
    document.body.dataset.ready = 'true';
    // Interactive from here: bench/explorer_bench reads this mark.
    performance.mark('kvs-ready');
  } catch (error) {
    setStatus('page-status', error.message, 'error');
    if (error.status === 403) askForSecret($('page-status'), openPage);
    document.body.dataset.ready = 'error';
  }
}

start();
