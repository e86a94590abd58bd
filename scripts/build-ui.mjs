// Bundles the web console (src/coordinator/ui/web) into dist/ui: one script, its page and styles.
// Runs in `npm run build`, so nothing is built when the coordinator serves the console.
import { copyFile, mkdir } from 'node:fs/promises';
import { build } from 'esbuild';

const from = new URL('../src/coordinator/ui/web/', import.meta.url);
const to = new URL('../dist/ui/', import.meta.url);

await mkdir(to, { recursive: true });
await build({
  entryPoints: [new URL('console.ts', from).pathname],
  outfile: new URL('console.js', to).pathname,
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  logLevel: 'warning',
});
await Promise.all(['index.html', 'console.css'].map((f) => copyFile(new URL(f, from), new URL(f, to))));
