// Builds the native compute addon (native/build/Release/imprint_native.node) with
// node-gyp. Run as the package's `install` script: a failed build prints a warning and
// exits 0 (the pure-TypeScript backend is used instead); with --strict it exits 1.
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');
const verbose = strict || process.argv.includes('--verbose');

function fail(what, detail) {
  const msg =
    `imprint: WARNING: the native compute addon could not be built (${what}). ` +
    `imprint will still work, using the slower pure-TypeScript backend. ` +
    `To retry, run \`npm run build:native\` (needs a C++17 compiler, Python 3 and make; ` +
    `OpenBLAS is optional: on Debian/Ubuntu \`apt-get install build-essential libopenblas-dev\`).` +
    (detail ? `\n${detail}` : '');
  console.warn(msg);
  process.exit(strict ? 1 : 0);
}

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  // npm's bundled node-gyp, next to the running node or under the global prefix
  const nodeDir = dirname(process.execPath);
  candidates.push(join(nodeDir, '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(nodeDir, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    const prefix = execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['prefix', '-g'], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20000,
    }).trim();
    candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    candidates.push(join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch {
    // npm not on PATH: rely on the other candidates
  }
  candidates.push(resolve(here, '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => c && existsSync(c));
}

// Prefer locally installed Node headers (offline): <prefix>/include/node/node_api.h.
function findNodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h')) && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) {
    return prefix;
  }
  return undefined;
}

if (process.env.IMPRINT_SKIP_NATIVE === '1') {
  console.warn('imprint: IMPRINT_SKIP_NATIVE=1, not building the native addon; the pure-TypeScript backend will be used.');
  process.exit(0);
}

const gyp = findNodeGyp();
if (!gyp) fail('node-gyp was not found (looked for npm\'s bundled copy)');

const args = [gyp, 'rebuild', '--release'];
const nodedir = findNodeDir();
if (nodedir) args.push(`--nodedir=${nodedir}`);
args.push(`--jobs=${process.env.IMPRINT_BUILD_JOBS ?? 'max'}`);

const r = spawnSync(process.execPath, args, {
  cwd: here,
  stdio: verbose ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
  env: { ...process.env, npm_config_offline: 'true' },
});
const tail = (s) => (s ? s.split('\n').slice(-25).join('\n') : '');
if (r.error) fail(`could not run node-gyp: ${r.error.message}`);
if (r.status !== 0) fail(`node-gyp exited with status ${r.status}`, verbose ? '' : tail(`${r.stdout ?? ''}\n${r.stderr ?? ''}`));
const out = join(here, 'build', 'Release', 'imprint_native.node');
if (!existsSync(out)) fail(`the build finished but ${out} is missing`);
console.log(`imprint: built native addon ${out}`);
