// The difference between two values, as the key explorer shows it: a Myers
// diff (the algorithm of the server's merge/char_diff.cc and of git) over
// lines or over characters (code points), drawn with <del> and <ins>.

// Beyond this many differences the diff gives up and shows the whole old
// middle deleted and the new one inserted: the walk costs O((N+M)·D) time
// and keeps O(D²) numbers for the way back.
const MAX_EDITS = 2000;
// Characters compared one by one up to this size; longer values by lines.
const MAX_CHARACTER_DIFF = 20000;

// Runs [op, items] of one op each ('eq', 'del', 'ins') turning a into b
// (arrays). The common start and end are cut off first (most edits touch
// little of a value), the rest goes to Myers's walk.
export function diffSequences(a, b) {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (
    end < a.length - start &&
    end < b.length - start &&
    a[a.length - 1 - end] === b[b.length - 1 - end]
  ) {
    end++;
  }
  const middle = myers(a.slice(start, a.length - end), b.slice(start, b.length - end)) ?? [
    ...a.slice(start, a.length - end).map((item) => ['del', item]),
    ...b.slice(start, b.length - end).map((item) => ['ins', item]),
  ];
  const ops = [
    ...a.slice(0, start).map((item) => ['eq', item]),
    ...middle,
    ...a.slice(a.length - end).map((item) => ['eq', item]),
  ];
  const runs = [];
  for (const [op, item] of ops) {
    const last = runs[runs.length - 1];
    if (last && last[0] === op) {
      last[1].push(item);
    } else {
      runs.push([op, [item]]);
    }
  }
  return runs;
}

// Myers's O(ND) walk: [op, item] pairs, or null beyond MAX_EDITS. trace[d]
// keeps the furthest x per diagonal k in -d-1..d+1 before step d, at k+d+1.
function myers(a, b) {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDITS);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  let found = n === 0 && m === 0;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])
          ? v[offset + k + 1]
          : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  if (!found) return null;
  // Walk the trace back from (n, m) to (0, 0).
  const ops = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d];
    const at = (k) => vd[k + d + 1];
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push(['eq', a[--x]]);
      y--;
    }
    if (d === 0) break;
    if (down) {
      ops.push(['ins', b[--y]]);
    } else {
      ops.push(['del', a[--x]]);
    }
  }
  while (x > 0 && y > 0) {
    ops.push(['eq', a[--x]]);
    y--;
  }
  return ops.reverse();
}

function splitLines(text) {
  const lines = text.split('\n');
  // "a\nb\n" is two lines, each ending in a newline.
  return lines.map((line, i) => (i < lines.length - 1 ? line + '\n' : line)).filter((l) => l);
}

// By lines when either value spans several or is long, else by characters.
export function chooseMode(older, newer) {
  const long = older.length > MAX_CHARACTER_DIFF || newer.length > MAX_CHARACTER_DIFF;
  return long || older.includes('\n') || newer.includes('\n') ? 'lines' : 'characters';
}

// Draws the difference from older to newer into element (a <pre>): kept
// text plain, deletions in <del>, insertions in <ins>, each marked for a
// screen reader too. Returns {insertions, deletions} counted in the mode's
// units.
export function renderDiff(element, older, newer, mode) {
  const a = mode === 'lines' ? splitLines(older) : Array.from(older);
  const b = mode === 'lines' ? splitLines(newer) : Array.from(newer);
  const runs = diffSequences(a, b);
  element.replaceChildren();
  const counts = { insertions: 0, deletions: 0 };
  for (const [op, items] of runs) {
    const text = items.join('');
    if (op === 'eq') {
      element.append(text);
      continue;
    }
    const mark = document.createElement(op);
    mark.textContent = text;
    mark.setAttribute('aria-label', (op === 'ins' ? 'inserted: ' : 'deleted: ') + text);
    element.append(mark);
    if (op === 'ins') counts.insertions += items.length;
    if (op === 'del') counts.deletions += items.length;
  }
  if (runs.length === 0) element.textContent = '';
  return counts;
}
