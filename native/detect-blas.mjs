// BLAS detection for binding.gyp command expansions. Usage:
//   node detect-blas.mjs defines|include_dirs|libraries|cflags
// Prints space-separated items (possibly nothing). Never fails: on any error it prints
// nothing, and the addon is built with the bundled GEMM only.
// Set IMPRINT_NO_BLAS=1 to force the bundled-only build.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function detect() {
  if (process.env.IMPRINT_NO_BLAS === '1') return null;
  if (process.platform === 'darwin') {
    return { defines: ['IMPRINT_HAVE_CBLAS', 'IMPRINT_HAVE_ACCELERATE', 'ACCELERATE_NEW_LAPACK'], include_dirs: [], libraries: ['-framework Accelerate'] };
  }
  if (process.platform !== 'linux') return null;
  const multiarch = process.arch === 'x64' ? 'x86_64-linux-gnu' : process.arch === 'arm64' ? 'aarch64-linux-gnu' : '';
  const incDirs = [
    multiarch && `/usr/include/${multiarch}`, '/usr/include/openblas', '/usr/include', '/usr/local/include',
    '/usr/local/include/openblas', '/opt/OpenBLAS/include',
  ].filter(Boolean);
  const libDirs = [
    multiarch && `/usr/lib/${multiarch}`, '/usr/lib64', '/usr/lib', '/usr/local/lib', '/usr/local/lib64', '/opt/OpenBLAS/lib',
  ].filter(Boolean);
  const findLib = (name) => libDirs.find((d) => existsSync(join(d, `lib${name}.so`)));
  const findHeader = (name) => incDirs.find((d) => existsSync(join(d, name)));
  const cblasDir = findHeader('cblas.h');
  if (!cblasDir) return null;
  const openblasLib = findLib('openblas');
  if (openblasLib) {
    return {
      defines: ['IMPRINT_HAVE_CBLAS', 'IMPRINT_HAVE_OPENBLAS'],
      include_dirs: [cblasDir],
      libraries: [`-L${openblasLib}`, '-lopenblas'],
    };
  }
  const cblasLib = findLib('cblas');
  if (cblasLib) {
    return { defines: ['IMPRINT_HAVE_CBLAS'], include_dirs: [cblasDir], libraries: [`-L${cblasLib}`, '-lcblas'] };
  }
  const blisLib = findLib('blis');
  if (blisLib) {
    return { defines: ['IMPRINT_HAVE_CBLAS'], include_dirs: [cblasDir], libraries: [`-L${blisLib}`, '-lblis'] };
  }
  return null;
}

let out = '';
try {
  const r = detect();
  const what = process.argv[2];
  if (r && what && Array.isArray(r[what])) out = r[what].join(' ');
} catch {
  out = '';
}
process.stdout.write(out + '\n');
