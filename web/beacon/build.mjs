// Bundle web/beacon/index.js with the pinned web-vitals into static/vigil-rum.js.
// `npm run build:beacon` (or `npm run build:beacon -- --outfile /tmp/x.js`); commit the output.
// The build is deterministic: same sources and pinned versions give the same bytes.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const flag = process.argv.indexOf("--outfile");
const outfile = flag >= 0 ? process.argv[flag + 1] : join(root, "static", "vigil-rum.js");
const version = (pkg) =>
  JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version;

await build({
  entryPoints: [join(root, "web", "beacon", "index.js")],
  outfile,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  platform: "browser",
  legalComments: "none",
  sourcemap: false,
  charset: "utf8",
  banner: {
    js: `/* vigil-rum.js: Vigil RUM beacon; bundles web-vitals ${version("web-vitals")} (Apache-2.0, github.com/GoogleChrome/web-vitals) */`,
  },
  logLevel: "warning",
});
console.log(`beacon -> ${outfile}`);
