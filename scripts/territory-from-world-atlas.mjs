// Derives soberana's shipped territory geometry from Natural Earth, as
// redistributed in the npm package `world-atlas` (TopoJSON, public domain).
//
//   npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
//   node scripts/territory-from-world-atlas.mjs package/countries-50m.json \
//        package/countries-110m.json > data/territory/land.json
//
// It decodes the TopoJSON arcs (quantised, delta-encoded), keeps the land
// polygons (exterior ring first, then holes) of the parties below from the
// 1:50m file, and every other country's land, unnamed, from the 1:110m file
// (so that a point on a neighbour's land or off its coast is not taken for
// ours). Coordinates are rounded to 1/1000 of a degree (about 110 m, finer
// than either source). Nothing is fetched at run time: the node reads the
// result, compiled in.
import { readFileSync } from "node:fs";

const PARTIES = { MX: "484", US: "840" };
const round = (v) => Math.round(v * 1000) / 1000;

function load(path) {
  const topo = JSON.parse(readFileSync(path, "utf8"));
  const { scale, translate } = topo.transform;
  const arcs = topo.arcs.map((arc) => {
    let x = 0, y = 0;
    return arc.map(([dx, dy]) => {
      x += dx; y += dy;
      return [x * scale[0] + translate[0], y * scale[1] + translate[1]];
    });
  });
  const ring = (indices) => {
    const out = [];
    for (const i of indices) {
      const arc = i >= 0 ? arcs[i] : arcs[~i].slice().reverse();
      arc.forEach((p, k) => { if (k > 0 || out.length === 0) out.push(p); });
    }
    const flat = [];
    let last = null;
    for (const [x, y] of out) {
      const p = [round(x), round(y)];
      if (last && last[0] === p[0] && last[1] === p[1]) continue;
      flat.push(p[0], p[1]);
      last = p;
    }
    return flat;
  };
  const polygons = (geometry) => {
    if (geometry.type === "Polygon") return [geometry.arcs.map(ring)];
    if (geometry.type === "MultiPolygon") return geometry.arcs.map((rings) => rings.map(ring));
    return [];
  };
  return { geometries: topo.objects.countries.geometries, polygons };
}

const fine = load(process.argv[2]);
const coarse = load(process.argv[3]);
const result = {
  source: "Natural Earth Admin 0 countries v4.1.0 via world-atlas 2.0.2: parties from countries-50m.json, other land from countries-110m.json",
  parties: {},
  other: [],
};
const ids = new Set(Object.values(PARTIES));
for (const [code, id] of Object.entries(PARTIES)) {
  const geometry = fine.geometries.find((g) => g.id === id);
  result.parties[code] = fine.polygons(geometry);
}
for (const geometry of coarse.geometries) {
  if (ids.has(geometry.id)) continue;
  result.other.push(...coarse.polygons(geometry));
}
process.stdout.write(JSON.stringify(result) + "\n");
