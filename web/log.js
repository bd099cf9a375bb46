// The key explorer's page of a branch's log (log.html): GET _log a page at
// a time, newest first; "next" of a page is the "before" of the one after.
import { $, askForSecret, fillBranchSelect, getJson, keyPageUrl, localTime,
  shortId } from './shared.js';

const ROOT = '../';
const PAGE_SIZE = 25;

const view = { branch: '', before: '', next: null, page: 0 };

function commitItem(commit) {
  const item = document.createElement('li');
  item.dataset.id = commit.id;
  const title = document.createElement('p');
  const id = document.createElement('code');
  id.textContent = shortId(commit.id);
  id.title = commit.id;
  title.append(id, ` revision ${commit.revision}, ${localTime(commit.time)}`);
  if (commit.parents.length > 1) title.append(`, merging ${commit.parents.length} commits`);
  if (commit.branch !== view.branch) title.append(` (on ${commit.branch})`);
  const keys = document.createElement('ul');
  keys.className = 'keys';
  keys.setAttribute('aria-label', `keys of commit ${shortId(commit.id)}`);
  for (const key of commit.keys) {
    const entry = document.createElement('li');
    const link = document.createElement('a');
    link.href = keyPageUrl(ROOT, key, view.branch);
    link.textContent = key;
    entry.append(link);
    keys.append(entry);
  }
  item.append(title, keys);
  return item;
}

async function load() {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (view.branch) query.set('branch', view.branch);
  if (view.before) query.set('before', view.before);
  try {
    const log = await getJson(`${ROOT}_log?${query}`);
    view.branch = log.branch;
    view.next = log.next;
    $('commits').replaceChildren(...log.commits.map(commitItem));
    $('log-info').textContent = log.commits.length
      ? `page ${view.page + 1}`
      : `no commits on ${view.branch}`;
    $('older').disabled = !log.next;
    $('newest').disabled = view.page === 0;
    $('page-status').textContent = '';
    $('page-status').className = 'status';
    return true;
  } catch (error) {
    $('page-status').textContent = error.message;
    $('page-status').className = 'status error';
    if (error.status === 403) askForSecret($('page-status'), openPage);
    return false;
  }
}

async function start() {
  view.branch = new URLSearchParams(location.search).get('branch') || '';
  $('older').addEventListener('click', () => {
    view.before = view.next;
    view.page += 1;
    load();
  });
  $('newest').addEventListener('click', () => {
    view.before = '';
    view.page = 0;
    load();
  });
  $('branch').addEventListener('change', () => {
    location.search = new URLSearchParams({ branch: $('branch').value }).toString();
  });
  openPage();
}

// Loads the page; again once a secret is typed when reads need it.
async function openPage() {
  if (!(await load())) return;
  try {
    await fillBranchSelect(ROOT, $('branch'), view.branch);
  } catch (error) {
    $('page-status').textContent = error.message;
  }
  document.body.dataset.ready = 'true';
}

start();
