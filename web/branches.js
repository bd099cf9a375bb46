// The key explorer's page of two branches (branches.html): what merging
// `from` into `into` would bring. The differences are GET _diff from
// `into` to `from` (added: only on `from`); each changed value's
// difference loads when its entry is opened. The preview is POST _merge
// with dry_run=1, the merge the same without; both need the secret.
import { $, askForSecret, fetchValue, fillBranchSelect, getJson, keyPageUrl, note,
  rememberedSecret, send, shortId } from './shared.js';
import { chooseMode, renderDiff } from './diff.js';

const ROOT = '../';

const pair = { from: '', into: '' };

function setStatus(id, text, kind = '') {
  $(id).textContent = text;
  $(id).className = kind ? `status ${kind}` : 'status';
}

function keyLink(key, branch) {
  const link = document.createElement('a');
  link.className = 'key-link';
  link.href = keyPageUrl(ROOT, key, branch);
  link.textContent = key;
  return link;
}

async function versionText(id) {
  const version = await getJson(`${ROOT}_versions/${id}`);
  if (version.deleted) return '';
  const value = await fetchValue(ROOT, version);
  return value.text ?? new TextDecoder('utf-8').decode(value.bytes);
}

// A changed key: its name, and its values' difference in a disclosure.
function modifiedEntry(entry) {
  const item = document.createElement('li');
  item.dataset.key = entry.key;
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.append(keyLink(entry.key, pair.from), ` ${shortId(entry.from)} → ${shortId(entry.to)}`);
  const output = document.createElement('pre');
  output.className = 'value diff';
  output.setAttribute('aria-label', `difference of ${entry.key}`);
  details.append(summary, output);
  details.addEventListener('toggle', async () => {
    if (!details.open || output.dataset.loaded) return;
    output.dataset.loaded = 'true';
    try {
      const [a, b] = await Promise.all([versionText(entry.from), versionText(entry.to)]);
      renderDiff(output, a, b, chooseMode(a, b));
    } catch (error) {
      output.replaceChildren(note(error.message));
    }
  });
  item.append(details);
  return item;
}

function simpleEntry(entry, branch) {
  const item = document.createElement('li');
  item.dataset.key = entry.key;
  item.append(keyLink(entry.key, branch), ` ${shortId(entry.version)}`);
  return item;
}

async function showDifferences() {
  const query = new URLSearchParams({ from: pair.into, to: pair.from });
  const diff = await getJson(`${ROOT}_diff?${query}`);
  for (const span of document.querySelectorAll('.from-name')) span.textContent = pair.from;
  for (const span of document.querySelectorAll('.into-name')) span.textContent = pair.into;
  $('diff-added').replaceChildren(...diff.added.map((e) => simpleEntry(e, pair.from)));
  $('diff-removed').replaceChildren(...diff.removed.map((e) => simpleEntry(e, pair.into)));
  $('diff-modified').replaceChildren(...diff.modified.map(modifiedEntry));
  const total = diff.added.length + diff.removed.length + diff.modified.length;
  $('diff-summary').textContent = total
    ? `${diff.added.length} only on ${pair.from}, ${diff.removed.length} only on ${pair.into}, ` +
      `${diff.modified.length} with different values.`
    : `${pair.from} and ${pair.into} hold the same keys and values.`;
}

function secret() {
  return rememberedSecret() || $('secret').value;
}

function mergeUrl(dryRun) {
  const query = new URLSearchParams({ from: pair.from, into: pair.into });
  if ($('strategy').value) query.set('strategy', $('strategy').value);
  if (dryRun) query.set('dry_run', '1');
  return `${ROOT}_merge?${query}`;
}

function valueText(value) {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function showPlan(answer, caption) {
  const rows = answer.changes.map((change) => [change.key, change.merge, valueText(change.value)]);
  for (const conflict of answer.conflicts ?? []) {
    rows.push([conflict.key, 'conflict', conflict.reason]);
  }
  $('plan').querySelector('tbody').replaceChildren(
    ...rows.map(([key, outcome, value]) => {
      const row = document.createElement('tr');
      row.dataset.key = key;
      const keyCell = document.createElement('td');
      keyCell.append(keyLink(key, pair.into));
      const outcomeCell = document.createElement('td');
      const badge = document.createElement('span');
      badge.className = `outcome ${outcome}`;
      badge.textContent = outcome.replaceAll('_', ' ');
      outcomeCell.append(badge);
      const valueCell = document.createElement('td');
      valueCell.className = 'value';
      if (value === null) {
        valueCell.append(note('deleted'));
      } else {
        valueCell.textContent = value;
      }
      row.append(keyCell, outcomeCell, valueCell);
      return row;
    }),
  );
  $('plan-caption').textContent = caption;
  $('plan').hidden = rows.length === 0;
}

async function runMerge(dryRun) {
  const typed = secret();
  if (!typed) {
    setStatus('merge-status', 'Type the secret first.', 'error');
    $('secret').focus();
    return;
  }
  $('preview-merge').disabled = true;
  $('run-merge').disabled = true;
  setStatus('merge-status', dryRun ? 'Previewing…' : 'Merging…');
  try {
    const answer = await send('POST', mergeUrl(dryRun), typed);
    $('secret-entry').hidden = rememberedSecret() !== '';
    const conflicts = (answer.conflicts ?? []).length;
    if (dryRun) {
      showPlan(answer, `What merging ${pair.from} into ${pair.into} would do`);
      setStatus(
        'merge-status',
        conflicts
          ? `${conflicts} key(s) would conflict: choose another way to merge them, ` +
              'or edit them first.'
          : `${answer.changes.length} key(s) would change, ` +
              `${answer.up_to_date} already up to date.`,
        conflicts ? 'error' : '',
      );
      $('run-merge').disabled = conflicts > 0 || answer.changes.length === 0;
    } else {
      showPlan(answer, `What merging ${pair.from} into ${pair.into} did`);
      setStatus(
        'merge-status',
        answer.commit
          ? `Merged: commit ${shortId(answer.commit)}, revision ${answer.revision}.`
          : 'Nothing to merge.',
        'ok',
      );
      await showDifferences();
    }
  } catch (error) {
    if (error.body && error.body.conflicts) {
      showPlan({ changes: [], conflicts: error.body.conflicts }, 'Conflicts');
    }
    setStatus('merge-status', error.message, 'error');
    $('secret-entry').hidden = rememberedSecret() !== '';
  } finally {
    $('preview-merge').disabled = false;
  }
}

async function start() {
  const query = new URLSearchParams(location.search);
  pair.from = query.get('from') || '';
  pair.into = query.get('into') || '';
  $('secret-entry').hidden = rememberedSecret() !== '';
  $('pair-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const pairQuery = new URLSearchParams({ from: $('from').value, into: $('into').value });
    location.search = pairQuery.toString();
  });
  $('merge-form').addEventListener('submit', (event) => {
    event.preventDefault();
    runMerge(true);
  });
  $('run-merge').addEventListener('click', () => runMerge(false));
  $('strategy').addEventListener('change', () => {
    $('run-merge').disabled = true; // preview again first
  });
  openPage();
}

// Loads the page; again once a secret is typed when reads need it.
async function openPage() {
  try {
    // Unless the URL says: into the default branch (as _log names it), from
    // another one.
    pair.into ||= (await getJson(`${ROOT}_log?limit=1`)).branch;
    const names = await fillBranchSelect(ROOT, $('into'), pair.into);
    pair.from ||= names.find((name) => name !== pair.into) || pair.into;
    await fillBranchSelect(ROOT, $('from'), pair.from, names);
    $('log-link').href = `log?${new URLSearchParams({ branch: pair.from })}`;
    if (pair.from === pair.into) {
      setStatus('page-status', 'Pick two different branches.', 'error');
      $('preview').hidden = true;
    } else {
      await showDifferences();
      setStatus('page-status', '');
    }
    $('secret-entry').hidden = rememberedSecret() !== '';
    document.body.dataset.ready = 'true';
  } catch (error) {
    setStatus('page-status', error.message, 'error');
    if (error.status === 403) askForSecret($('page-status'), openPage);
    document.body.dataset.ready = 'error';
  }
}

start();
