// Copy the pinned front-end packages from node_modules into static/vendor/.
// Run `npm ci && npm run vendor`, then commit static/vendor/.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "static", "vendor");

const files = [
  { pkg: "htmx.org", from: "dist/htmx.min.js", to: "htmx.min.js", major: "2." },
  { pkg: "htmx-ext-sse", from: "dist/sse.min.js", to: "htmx-ext-sse.min.js", major: "2." },
];

mkdirSync(out, { recursive: true });
for (const file of files) {
  const dir = join(root, "node_modules", file.pkg);
  const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  if (!version.startsWith(file.major)) {
    throw new Error(`${file.pkg} ${version}: expected ${file.major}x (htmx 4 has another extension model)`);
  }
  const source = join(dir, file.from);
  copyFileSync(source, join(out, file.to));
  console.log(`${file.pkg}@${version}: ${source.slice(root.length + 1)} -> static/vendor/${file.to}`);
}
