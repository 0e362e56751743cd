/**
 * Packs what `scripts/gpu-check.sh run` needs on an offline x86-64 Linux host with an NVIDIA
 * GPU and no Node.js: this machine's `node` binary (it needs only glibc and libstdc++), the
 * npm packages the CLIP benchmark and serve-clip load (onnxruntime-node with only its linux x64
 * binaries, which hold the WebGPU provider; sharp with its linux x64 libvips; tsx and esbuild to
 * run the TypeScript; onnx-proto for the model tooling; prom-client for serve-clip's metrics),
 * and Debian's Vulkan loader with the GL-vendor libraries the NVIDIA driver's Vulkan ICD loads,
 * fetched with `apt-get download`. The model is not packed: the host generates the synthetic
 * ViT-B/32 with this project's TypeScript (578 MiB would not travel).
 *
 * usage: node --import tsx scripts/gpu-check/pack.ts OUTDIR
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** What the benchmark and serve-clip import (their dependencies follow). */
export const ROOTS = ['onnxruntime-node', 'sharp', 'tsx', 'onnx-proto', 'prom-client'];
/** Debian packages: the Vulkan loader, and what the NVIDIA ICD (libGLX_nvidia) links against. */
export const DEBS = [
  'libvulkan1',
  'libglvnd0',
  'libglx0',
  'libgl1',
  'libegl1',
  'libx11-6',
  'libx11-data',
  'libxext6',
  'libxcb1',
  'libxau6',
  'libxdmcp6',
  'libbsd0',
  'libmd0',
];

interface Pkg {
  name: string;
  version: string;
  dir: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** The packages `roots` need, by walking package.json dependencies (optional ones where installed). */
export function closure(nodeModules: string, roots: string[]): Pkg[] {
  const seen = new Map<string, Pkg>();
  const queue = [...roots];
  while (queue.length) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    const dir = join(nodeModules, name);
    const file = join(dir, 'package.json');
    if (!existsSync(file)) {
      if (roots.includes(name)) throw new Error(`${name} is not installed in ${nodeModules}`);
      continue; // an optional dependency for another platform
    }
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as Omit<Pkg, 'dir'>;
    seen.set(name, { ...pkg, name, dir });
    queue.push(...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}));
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function sizeOf(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.size;
  return readdirSync(p).reduce((n, f) => n + sizeOf(join(p, f)), 0);
}

function main(out: string): void {
  const nodeModules = realpathSync(join(ROOT, 'node_modules'));
  mkdirSync(out, { recursive: true });
  const pkgs = closure(nodeModules, ROOTS);
  const base = dirname(nodeModules);
  const paths = pkgs.map((p) => relative(base, p.dir));
  // onnxruntime-node ships every platform's binaries (~300 MB); the host needs linux x64's.
  const ortBin = join(relative(base, join(nodeModules, 'onnxruntime-node')), 'bin', 'napi-v6');
  const excludes = ['darwin', 'win32', 'linux/arm64'].map((p) => `--exclude=${ortBin}/${p}`);
  process.stderr.write(`packing ${pkgs.length} packages: ${pkgs.map((p) => `${p.name}@${p.version}`).join(' ')}\n`);
  execFileSync('tar', ['-C', base, '-cJf', join(out, 'node_modules.tar.xz'), ...excludes, ...paths], {
    env: { ...process.env, XZ_OPT: '-6 -T0' },
    stdio: 'inherit',
  });
  const node = realpathSync(process.execPath);
  process.stderr.write(`packing ${node} (${process.version})\n`);
  execFileSync('sh', ['-c', `xz -6 -T0 -c "${node}" > "${join(out, 'node.xz')}"`], { stdio: 'inherit' });
  const debs = join(out, 'debs');
  rmSync(debs, { recursive: true, force: true });
  mkdirSync(debs, { recursive: true });
  process.stderr.write(`apt-get download ${DEBS.join(' ')}\n`);
  execFileSync('apt-get', ['download', ...DEBS], { cwd: debs, stdio: ['ignore', 'ignore', 'inherit'] });
  const files = ['node.xz', 'node_modules.tar.xz', ...readdirSync(debs).map((f) => `debs/${f}`)];
  const manifest = {
    packed: new Date().toISOString(),
    node: process.version,
    packages: pkgs.map((p) => `${p.name}@${p.version}`),
    debs: readdirSync(debs),
    bytes: Object.fromEntries(files.map((f) => [f, sizeOf(join(out, f))])),
    totalMiB: +(files.reduce((n, f) => n + sizeOf(join(out, f)), 0) / 2 ** 20).toFixed(1),
  };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`packed ${manifest.totalMiB} MiB into ${out}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node --import tsx scripts/gpu-check/pack.ts OUTDIR\n');
    process.exit(2);
  }
  main(resolve(out));
}
