// The version graph of one key drawn as SVG, newest at the top: one row per
// version, one node per version, edges from each version down to its
// parents. Forks stand side by side in lanes; a merge's edges join them.
//
// Lanes are assigned as `git log --graph` does: walking the rows newest
// first, each lane waits for one parent id. A version takes the leftmost
// lane waiting for it (the others waiting for it end there: a fork point),
// or a free lane when none waits (a head); its first parent then waits in
// its lane, further parents in lanes of their own (a merge). An edge runs
// down the lane that waited for its parent, so no edge crosses a node.
// Parents not loaded yet (the next page) get an edge to the bottom.

const SVG = 'http://www.w3.org/2000/svg';
const ROW = 34; // px between rows
const LANE = 22; // px between lanes
const PAD = 18;
const RADIUS = 7;

function svgElement(name, attributes = {}) {
  const element = document.createElementNS(SVG, name);
  for (const [attribute, value] of Object.entries(attributes)) {
    element.setAttribute(attribute, String(value));
  }
  return element;
}

// Rows, lanes and edges for versions (newest first, each once).
export function layoutGraph(versions) {
  const position = new Map(); // id -> {lane, row}
  const edges = []; // {child, parent, carrier}
  const lanes = []; // lanes[i]: the parent id lane i waits for, or null
  const freeLane = () => {
    const free = lanes.indexOf(null);
    if (free >= 0) return free;
    lanes.push(null);
    return lanes.length - 1;
  };
  versions.forEach((version, row) => {
    let lane = -1;
    lanes.forEach((waiting, i) => {
      if (waiting !== version.id) return;
      if (lane < 0) {
        lane = i;
      } else {
        lanes[i] = null; // a fork point: this side's lane ends here
      }
    });
    if (lane < 0) lane = freeLane();
    lanes[lane] = null;
    position.set(version.id, { lane, row });
    version.parents.forEach((parent, i) => {
      let carrier = lanes.indexOf(parent);
      if (carrier < 0) {
        carrier = i === 0 && lanes[lane] === null ? lane : freeLane();
        lanes[carrier] = parent;
      }
      edges.push({ child: version.id, parent, carrier });
    });
  });
  const width = Math.max(1, ...Array.from(position.values(), (p) => p.lane + 1), lanes.length);
  return { position, edges, lanes: width, rows: versions.length };
}

const x = (lane) => PAD + lane * LANE;
const y = (row) => PAD + row * ROW;

function edgePath(layout, edge) {
  const child = layout.position.get(edge.child);
  const parent = layout.position.get(edge.parent);
  const points = [[x(child.lane), y(child.row)]];
  if (!parent) {
    // Continues on the next page.
    points.push([x(edge.carrier), y(child.row + 1)]);
    points.push([x(edge.carrier), y(layout.rows) - ROW / 3]);
  } else if (parent.row > child.row + 1) {
    if (edge.carrier !== child.lane) points.push([x(edge.carrier), y(child.row + 1)]);
    points.push([x(edge.carrier), y(parent.row - 1)]);
    points.push([x(parent.lane), y(parent.row)]);
  } else {
    points.push([x(parent.lane), y(parent.row)]);
  }
  return points.map(([px, py], i) => `${i ? 'L' : 'M'}${px} ${py}`).join(' ');
}

// What a screen reader says of a node, and what the tooltip shows.
export function describeVersion(version, marks) {
  const words = [`version ${version.id.slice(0, 8)}`];
  if (marks.length) words.push(marks.join(', '));
  words.push(version.deleted ? 'deleted' : `${version.size} bytes`);
  words.push(`revision ${version.revision}`, `written ${version.time}`);
  words.push(`replica ${version.replica}`);
  if (version.parents.length > 1) words.push(`merges ${version.parents.length} versions`);
  return words.join('; ');
}

// Draws versions into svg. marksOf(version) lists its marks ("winner",
// "head"); picked is the set of picked ids. Returns the nodes by id, each
// a <g> with the version in .version, for the caller to make focusable.
export function drawGraph(svg, versions, marksOf, picked, label) {
  const layout = layoutGraph(versions);
  const labelX = x(layout.lanes) + 4;
  // Room below the last row for the edges that go on to the next page.
  const more = layout.edges.some((edge) => !layout.position.has(edge.parent));
  const height = y(Math.max(0, layout.rows - 1)) + PAD + (more ? ROW : 0);
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${labelX + 420} ${height}`);
  svg.setAttribute('width', String(labelX + 420));
  svg.setAttribute('height', String(height));
  svg.setAttribute('role', 'group');
  svg.setAttribute('aria-label', label);

  const edgeLayer = svgElement('g', { class: 'edges', 'aria-hidden': 'true' });
  for (const edge of layout.edges) {
    const loaded = layout.position.has(edge.parent);
    edgeLayer.append(
      svgElement('path', {
        d: edgePath(layout, edge),
        class: loaded ? 'edge' : 'edge more',
        'data-child': edge.child,
        'data-parent': edge.parent,
      }),
    );
  }
  svg.append(edgeLayer);

  const nodes = new Map();
  versions.forEach((version) => {
    const { lane, row } = layout.position.get(version.id);
    const marks = marksOf(version);
    const node = svgElement('g', {
      class: ['node', version.deleted ? 'deleted' : '', ...marks].join(' ').trim(),
      role: 'button',
      'data-id': version.id,
      'aria-pressed': picked.has(version.id) ? 'true' : 'false',
      'aria-label': describeVersion(version, marks),
    });
    node.version = version;
    // A wide, invisible target: the whole row is the node's to click.
    node.append(
      svgElement('rect', {
        class: 'hit',
        x: 0,
        y: y(row) - ROW / 2,
        width: labelX + 420,
        height: ROW,
      }),
    );
    if (marks.includes('winner')) {
      node.append(svgElement('circle', { class: 'ring', cx: x(lane), cy: y(row), r: RADIUS + 4 }));
    }
    node.append(svgElement('circle', { class: 'dot', cx: x(lane), cy: y(row), r: RADIUS }));
    if (version.deleted) {
      const d = RADIUS * 0.6;
      const [cx, cy] = [x(lane), y(row)];
      const cross =
        `M${cx - d} ${cy - d} L${cx + d} ${cy + d} ` + `M${cx + d} ${cy - d} L${cx - d} ${cy + d}`;
      node.append(svgElement('path', { class: 'cross', d: cross }));
    }
    const text = svgElement('text', { x: labelX, y: y(row) + 4 });
    const id = svgElement('tspan', { class: 'id' });
    id.textContent = version.id.slice(0, 8);
    const detail = svgElement('tspan', { class: 'detail', dx: 8 });
    detail.textContent =
      `r${version.revision} · ${new Date(Date.parse(version.time)).toLocaleString()}` +
      (version.deleted ? ' · deleted' : ` · ${version.size} B`);
    text.append(id, detail);
    for (const mark of marks) {
      const tag = svgElement('tspan', { class: `tag ${mark}`, dx: 8 });
      tag.textContent = mark;
      text.append(tag);
    }
    node.append(text);
    svg.append(node);
    nodes.set(version.id, node);
  });
  return nodes;
}
