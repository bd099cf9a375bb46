// The difference between two values, as the key explorer shows it: a Myers
// diff (the algorithm of the server's merge/char_diff.cc and of git) over
// lines or over characters (code points), drawn with <del> and <ins>.

// Beyond this many differences the diff gives up and shows the whole old
// value deleted and the new one inserted: the walk costs O((N+M)·D).
const MAX_EDITS = 4000;

// The edit script turning a into b (arrays): [op, items] runs with op one of
// 'eq', 'del', 'ins'. null when more than MAX_EDITS differences.
export function diffSequences(a, b) {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDITS);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  let found = n === 0 && m === 0;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
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
    const k = x - y;
    const down = k === -d || (k !== d && vd[offset + k - 1] < vd[offset + k + 1]);
    const prevK = down ? k + 1 : k - 1;
    const prevX = vd[offset + prevK];
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
  ops.reverse();
  // Runs of one op.
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

function splitLines(text) {
  const lines = text.split('\n');
  // "a\nb\n" is two lines, each ending in a newline.
  return lines.map((line, i) => (i < lines.length - 1 ? line + '\n' : line)).filter((l) => l);
}

// By lines when either value spans several, else by characters.
export function chooseMode(older, newer) {
  return older.includes('\n') || newer.includes('\n') ? 'lines' : 'characters';
}

// Draws the difference from older to newer into element (a <pre>): kept
// text plain, deletions in <del>, insertions in <ins>, each marked for a
// screen reader too. Returns {insertions, deletions} counted in the mode's
// units.
export function renderDiff(element, older, newer, mode) {
  const a = mode === 'lines' ? splitLines(older) : Array.from(older);
  const b = mode === 'lines' ? splitLines(newer) : Array.from(newer);
  const runs = diffSequences(a, b) ?? [
    ['del', a],
    ['ins', b],
  ];
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
