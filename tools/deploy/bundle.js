#!/usr/bin/env node
// Builds PROJECT/deploy: what is deployed of a service or the CLI, self-contained, run with `node`
// alone (Node.js 24) from any directory, with no node_modules anywhere:
//
//   deploy/package.json            the manifest: name, version, entry point ("main": "main.js")
//   deploy/main.js                 the app, bundled by esbuild from its tsc build (dist/main.js);
//                                  the CLI's is a small loader instead, see "The CLI's start-up" below
//   deploy/cli.js                  the CLI only: its bundle, required by main.js
//   deploy/health-check.js         services only: the image's HEALTHCHECK (tools/deploy/src/health-check.ts)
//   deploy/dist/build-info.json    the commit the build was made from (tools/build-info.js)
//   deploy/assets/PACKAGE/...      the files a bundled package reads at run time through __dirname
//
// Bundling turns every module's __dirname into the bundle's own directory, so each module that
// uses it gets it back as deploy/assets/PACKAGE/ plus its own subdirectory (the app's own modules:
// deploy/dist/), and the files it reads are copied there, in their package's layout. A bundled
// module that uses __dirname or __filename and is not in `runtimeFiles` below fails the build: a
// new dependency that reads files at run time must be looked at, not found missing in production.
//
// The CLI's start-up. A command is a process of its own, so the CLI's time to start is what users
// wait for (issue 13; tools/bench/src/cli-startup.ts measures it). Two things for the CLI alone:
//  - deploy/main.js is a loader that runs deploy/cli.js from V8's code cache (vm.Script with
//    cachedData), one cache file per command in $XDG_CACHE_HOME/flotilla/code-cache (else
//    ~/.cache/...), written as a command first exits, so it holds the functions the command ran.
//    Node's own compile cache (module.enableCompileCache) keeps only the code compiled before a
//    module runs, and most of a command's functions compile later: with it `flotilla ps` took
//    186 ms at the median, with this 146 ms (B8, 40 interleaved rounds).
//  - Lazy loading: in the app's and the libraries' own modules and in @grpc/grpc-js (all tsc's
//    CommonJS output; no other package), `const x_1 = require("m")` (also inside tsc's
//    __importStar/__importDefault) becomes a stand-in that loads "m" when one of its exports is
//    first used, and a barrel's `__exportStar(require("./m"), exports)` becomes getters for m's
//    exports (their names read at build time, checked after it) that load "m" on first use. tsc
//    reads an import's exports only where they are used (`x_1.name`), so what a module sees is
//    unchanged; only when a module is evaluated moves to its first use. So `flotilla --version`
//    evaluates 7 modules; `--help` evaluates grpc-js's index (the generated code of @flotilla/proto
//    defines its clients with it) but not its channels, TLS or HTTP/2; `flotilla ps` loads the
//    client side of gRPC only, not the servers, reflection, logging or PKI code that the libraries'
//    barrels (@flotilla/grpc, @flotilla/config) also export. A bare `require("m")` (an import for
//    its side effects) stays as it is. The CLI's output is unchanged (apps/cli tests).
//
// Usage: node tools/deploy/bundle.js PROJECT_DIR   (after `tsc -b PROJECT_DIR` and tools/build-info.js)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

/**
 * What each package reads through __dirname at run time: directories (relative to the package's
 * root) copied into deploy/assets/PACKAGE/. An empty list says the package uses __dirname only
 * where Flotilla never goes.
 */
const runtimeFiles = {
  '@flotilla/proto': ['descriptor'], // descriptorSetPath: the reflection descriptor set
  '@flotilla/grpc': ['descriptor'], // healthDescriptorSetPath: reflection of grpc.health.v1
  '@flotilla/config': [], // in a comment only (buildInfo's callers pass their own __dirname)
  '@grpc/reflection': ['build/proto/grpc'], // reflection.proto, loaded when reflection is added to a server
  'grpc-health-check': ['proto'], // health.proto, loaded when the module is imported
  etcd3: ['proto'], // rpc.proto and its imports, loaded when the module is imported
  dockerode: ['lib/proto'], // BuildKit's session and status protos, for image builds with BuildKit
  '@grpc/grpc-js': [], // channelz and ORCA protos: loaded only when those are enabled, never here
  pino: [], // worker-thread transports: unused, logs are written to stderr directly
  'thread-stream': [], // pino's transports only
  ssh2: [], // poly1305 is inline asm.js; pageant.exe is Windows-only
};

/** Loaded by `require` inside try/catch, and left out: native add-ons, optional speed-ups of ssh2. */
const leftOut = ['cpu-features', '*.node'];

/** Per app: its binary's name, and the function that parses its configuration (services only). */
const apps = {
  'engine-agent': { bin: 'flotilla-engine-agent', config: 'parseAgentConfig' },
  'cluster-manager': { bin: 'flotilla-cluster-manager', config: 'parseManagerConfig' },
  discovery: { bin: 'flotilla-discovery', config: 'parseDiscoveryConfig' },
  cli: { bin: 'flotilla', bundle: 'cli.js', lazy: true },
};

/**
 * The CLI's deploy/main.js: runs the bundle from V8's code cache (see "The CLI's start-up"). `id`
 * names the bundle's build in the cache file's name, so a new build never reads an old cache.
 */
function loaderSource(bundle, id) {
  return `#!/usr/bin/env node
// Built by tools/deploy/bundle.js: runs the CLI (${bundle}) from V8's compiled code, kept in
// $XDG_CACHE_HOME/flotilla/code-cache (else ~/.cache/flotilla/code-cache), one file per command
// (its first word), build of the bundle, Node version and architecture. A command that finds no
// cache of its own writes one as it exits (exit code 0 only), so the cache holds the functions the
// command ran, not only the top-level code that Node's own compile cache keeps, and each command
// reads only its own. NODE_DISABLE_COMPILE_CACHE=1 turns it off. Without a usable cache directory
// the CLI runs as well, only slower; V8 rejects a cache that does not match the bundle.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const file = path.join(__dirname, '${bundle}');
const build = 'cli-${id}-';
const maxCaches = 64;
const args = process.argv.slice(2);
const command = args.find((a) => !a.startsWith('-')) ?? args[0] ?? 'help';
let dir;
let cacheFile;
let cachedData;
if (!process.env.NODE_DISABLE_COMPILE_CACHE && /^-{0,2}[a-z][a-z-]{0,30}$/.test(command)) {
  try {
    const xdg = process.env.XDG_CACHE_HOME;
    const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(require('node:os').homedir(), '.cache');
    dir = path.join(base, 'flotilla', 'code-cache');
    // One level at a time: a recursive mkdir never returns under some paths (/proc/...).
    for (const d of [base, path.dirname(dir), dir]) {
      try {
        fs.mkdirSync(d, 0o700);
      } catch (err) {
        if (err.code !== 'EEXIST') throw err;
      }
    }
    // V8's code cache is not for untrusted input: only a folder of this user's that no one else
    // may write to.
    const own = fs.statSync(dir);
    if ((process.getuid && own.uid !== process.getuid()) || (own.mode & 0o022) !== 0) throw new Error('cache folder not private');
    cacheFile = path.join(dir, \`\${build}\${process.version}-\${process.arch}-\${command}.bin\`);
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    // no cache yet, or none possible: only slower
  }
}

// The bundle's #! line becomes a comment: Node strips it from a file it loads, a Script does not.
const source = fs.readFileSync(file, 'utf8').replace(/^#!/, '//');
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
  process.once('exit', (code) => {
    if (code !== 0) return;
    try {
      // Caches of other builds of the CLI are never read again.
      const names = fs.readdirSync(dir);
      for (const name of names) if (name.startsWith('cli-') && !name.startsWith(build)) fs.rmSync(path.join(dir, name), { force: true });
      // The first word is not always a command (\`--manager host ps\` gives "host"): a bounded
      // number of caches per build, so words that vary cannot fill the disk.
      if (names.filter((name) => name.startsWith(build)).length >= maxCaches) return;
      const tmp = \`\${cacheFile}.\${process.pid}.tmp\`;
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
    } catch {
      // a cache not written: the next run compiles again
    }
  });
}

const cli = new Module(file, module);
cli.filename = file;
cli.paths = module.paths;
script.runInThisContext().call(cli.exports, cli.exports, Module.createRequire(file), cli, file, __dirname);
`;
}

/** The run-time helpers of lazy loading, bundled once as the module "flotilla-lazy". */
const lazyRuntime = `'use strict';
/** A stand-in for a module's exports that requires it on first use. */
exports.lazy = function lazy(load) {
  let m;
  const get = () => (m === undefined ? (m = load()) : m);
  return new Proxy(Object.create(null), {
    get: (_, k) => get()[k],
    set: (_, k, v) => ((get()[k] = v), true),
    has: (_, k) => k in get(),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_, k) => {
      const d = Reflect.getOwnPropertyDescriptor(get(), k);
      if (d) d.configurable = true;
      return d;
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(get()),
  });
};
/** tsc's __exportStar(require(m), exports), with the names known: getters that require m on first use. */
exports.exportStar = function exportStar(exports, load, names) {
  let m;
  for (const name of names) {
    if (Object.prototype.hasOwnProperty.call(exports, name)) continue;
    Object.defineProperty(exports, name, { enumerable: true, get: () => (m === undefined ? (m = load()) : m)[name] });
  }
};
`;

function die(message) {
  process.stderr.write(`tools/deploy/bundle.js: ${message}\n`);
  process.exit(1);
}

/** The nearest directory at or above `dir` whose package.json has a name, and that name. */
function packageOf(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    const file = path.join(d, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (typeof pkg.name === 'string') return { dir: d, name: pkg.name };
    }
    if (path.dirname(d) === d) return undefined;
  }
}

/** Where a module of `pkg` finds its files once bundled, relative to deploy/. */
function relocated(pkg, appPackage) {
  return pkg.name === appPackage ? '' : path.join('assets', pkg.name);
}

/**
 * Modules whose imports are made lazy: the repository's own compiled modules (apps, libs and tools,
 * outside node_modules) and @grpc/grpc-js (whose index loads its server, channelz, TLS and HTTP/2 up
 * front, and which the generated code of @flotilla/proto loads to define its clients): all of them
 * tsc's CommonJS output.
 */
function lazyScope(file) {
  const rel = path.relative(root, file);
  if (rel.startsWith('..') || !rel.endsWith('.js')) return false;
  const parts = rel.split(path.sep);
  const n = parts.lastIndexOf('node_modules');
  return n < 0 || parts.slice(n + 1, n + 4).join('/') === '@grpc/grpc-js/build';
}

/** Node's built-in modules that are plain objects (never called), which a stand-in can replace. */
const objectBuiltins = new Set(['child_process', 'crypto', 'dns', 'fs', 'http', 'http2', 'https', 'net', 'os', 'path', 'perf_hooks', 'querystring', 'readline', 'tls', 'tty', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib']);

/**
 * Whether `const NAME = require(SPECIFIER)` in `file` can become a stand-in: tsc's names for named
 * imports end in _N; any other NAME is `import * as NAME` or `import NAME = require(...)`, safe
 * only when the module is known to be an object: a built-in of objectBuiltins, or one of the
 * package's own modules that does not replace module.exports.
 */
function canBeLazy(file, name, specifier) {
  if (/_\d+$/.test(name)) return true;
  if (objectBuiltins.has(specifier.replace(/^node:/, ''))) return true;
  if (!specifier.startsWith('.')) return false;
  return !/\bmodule\.exports\s*=/.test(fs.readFileSync(resolveRelative(file, specifier), 'utf8'));
}

/**
 * Exports of one of our compiled modules, read from tsc's output: `exports.NAME =`,
 * `Object.defineProperty(exports, "NAME", ...)` (re-exports), and those of `export *` modules.
 * Checked against the loaded module after the build (checkBarrels).
 */
function exportNames(file, seen = new Set()) {
  if (seen.has(file)) return [];
  seen.add(file);
  const source = fs.readFileSync(file, 'utf8');
  const names = new Set();
  for (const m of source.matchAll(/\bexports\.([A-Za-z_$][\w$]*)\s*=(?!=)/g)) names.add(m[1]);
  for (const m of source.matchAll(/Object\.defineProperty\(exports, "([^"]+)"/g)) names.add(m[1]);
  for (const m of source.matchAll(/^__exportStar\(require\("(\.[^"]*)"\), exports\);$/gm)) for (const n of exportNames(resolveRelative(file, m[1]), seen)) names.add(n);
  names.delete('__esModule');
  names.delete('default');
  return [...names];
}

function resolveRelative(from, specifier) {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.js`, path.join(base, 'index.js')]) if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  die(`${path.relative(root, from)}: cannot resolve ${specifier}`);
}

/** tsc's imports in one of our modules, made lazy (see "The CLI's start-up" above). */
function lazyRequires(source, file, barrels) {
  let changed = false;
  let out = source.replace(/^(const|var) ([A-Za-z_$][\w$]*) = ((?:__importStar|__importDefault)\(require\("[^"]+"\)\)|require\("([^"]+)"\));$/gm, (line, keyword, name, expression, specifier) => {
    if (specifier !== undefined && !canBeLazy(file, name, specifier)) return line;
    changed = true;
    return `${keyword} ${name} = __flotillaLazy.lazy(() => ${expression});`;
  });
  out = out.replace(/^__exportStar\(require\("(\.[^"]*)"\), exports\);$/gm, (line, specifier) => {
    const target = resolveRelative(file, specifier);
    const names = exportNames(target);
    barrels.set(target, names);
    changed = true;
    return `__flotillaLazy.exportStar(exports, () => require(${JSON.stringify(specifier)}), ${JSON.stringify(names)});`;
  });
  if (!changed) return source;
  // After a hashbang and tsc's "use strict" prologue, which must stay first.
  return out.replace(/^(#!.*\n)?("use strict";\n)?/, (prologue) => `${prologue}const __flotillaLazy = require("flotilla-lazy");\n`);
}

/**
 * The export names read from each lazily re-exported module's source are exactly those the module
 * has once loaded (in a separate node process, so nothing the modules start stays in this one).
 */
function checkBarrels(barrels) {
  if (barrels.size === 0) return;
  const { execFileSync } = require('node:child_process');
  const script = `const want = JSON.parse(require('node:fs').readFileSync(0, 'utf8')); const bad = [];
for (const [file, names] of want) { const have = Object.keys(require(file)).filter((n) => n !== 'default').sort(); const a = [...names].sort();
  if (have.join() !== a.join()) bad.push(file + ': read ' + a.join(',') + '; loaded ' + have.join(',')); }
process.stdout.write(JSON.stringify(bad)); process.exit(0);`;
  const bad = JSON.parse(execFileSync(process.execPath, ['-e', script], { input: JSON.stringify([...barrels]), encoding: 'utf8', cwd: root, timeout: 60_000 }));
  if (bad.length > 0) die(`lazy re-exports: the export names read from these modules differ from what they export:\n  ${bad.join('\n  ')}`);
}

function main() {
  const project = process.argv[2];
  if (!project) die('usage: node tools/deploy/bundle.js PROJECT_DIR');
  const appDir = path.resolve(root, project);
  const appName = path.basename(appDir);
  const app = apps[appName];
  if (!app) die(`no deploy settings for ${appName}: add it to "apps" in tools/deploy/bundle.js`);
  const manifest = JSON.parse(fs.readFileSync(path.join(appDir, 'package.json'), 'utf8'));
  const out = path.join(appDir, 'deploy');
  const entry = path.join(appDir, 'dist', 'main.js');
  if (!fs.existsSync(entry)) die(`${path.relative(root, entry)} is missing: build the project with tsc first`);

  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch {
    die("esbuild is not installed: it is a devDependency of the root package.json; run 'npm install'");
  }

  /** Packages whose modules use __dirname, and the directories those modules are in. */
  const users = new Map();
  const problems = [];
  /** Barrel modules made lazy, with the export names read from their source: checked after the build. */
  const barrels = new Map();
  const relocateDirname = {
    name: 'relocate-dirname',
    setup(build) {
      if (app.lazy) {
        build.onResolve({ filter: /^flotilla-lazy$/ }, () => ({ path: 'flotilla-lazy', namespace: 'flotilla-lazy' }));
        build.onLoad({ filter: /.*/, namespace: 'flotilla-lazy' }, () => ({ contents: lazyRuntime, loader: 'js' }));
      }
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        const original = fs.readFileSync(args.path, 'utf8');
        let source = original;
        const lazy = app.lazy && lazyScope(args.path);
        if (lazy) source = lazyRequires(source, args.path, barrels);
        const usesDirname = /\b__dirname\b/.test(source);
        const usesFilename = /\b__filename\b/.test(source);
        const loader = path.extname(args.path).includes('ts') ? 'ts' : 'js';
        const changed = () => (source === original ? undefined : { contents: source, loader, resolveDir: path.dirname(args.path) });
        if (!usesDirname && !usesFilename) return changed();
        const pkg = packageOf(path.dirname(args.path));
        if (!pkg) {
          problems.push(`${path.relative(root, args.path)} uses __dirname and belongs to no package`);
          return changed();
        }
        if (pkg.name !== manifest.name && !(pkg.name in runtimeFiles)) {
          problems.push(`${path.relative(root, args.path)} (package ${pkg.name}) uses __dirname or __filename: add what it reads at run time to runtimeFiles in tools/deploy/bundle.js`);
          return changed();
        }
        if (!usesDirname) return changed();
        // The app's own modules (dist/) become deploy/dist/.
        const own = path.relative(pkg.dir, path.dirname(args.path));
        const sub = pkg.name === manifest.name ? path.join('dist', own.replace(/^(src|dist)(\/|$)/, '')) : own;
        const target = path.join(relocated(pkg, manifest.name), sub);
        if (!users.has(pkg.name)) users.set(pkg.name, { pkg, dirs: new Set() });
        users.get(pkg.name).dirs.add(target);
        const contents = source.replace(/\b__dirname\b/g, `require("node:path").join(__dirname, ${JSON.stringify(target)})`);
        return { contents, loader, resolveDir: path.dirname(args.path) };
      });
    },
  };

  const common = {
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    external: leftOut,
    plugins: [relocateDirname],
    logLevel: 'warning',
    legalComments: 'eof',
    // `import.meta` and friends do not occur; keep names for readable stack traces.
    keepNames: true,
    absWorkingDir: root,
  };

  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const builds = [esbuild.build({ ...common, entryPoints: [entry], outfile: path.join(out, app.bundle ?? 'main.js') })];
  if (app.config) {
    // The health check, with the app's own configuration parser: it reads the service's flags and
    // environment exactly as the service did (tools/deploy/src/health-check.ts).
    const contents = [
      `const { runHealthCheck } = require(${JSON.stringify(path.join(root, 'tools/deploy/src/health-check.ts'))});`,
      `const { ${app.config} } = require(${JSON.stringify(path.join(appDir, 'dist', 'config.js'))});`,
      `runHealthCheck({ name: ${JSON.stringify(`${app.bin}-health-check`)}, parseConfig: ${app.config} });`,
    ].join('\n');
    builds.push(esbuild.build({ ...common, stdin: { contents, resolveDir: root, sourcefile: 'health-check.js', loader: 'js' }, banner: { js: '#!/usr/bin/env node' }, outfile: path.join(out, 'health-check.js') }));
  }
  return Promise.all(builds).then(() => {
    if (problems.length > 0) {
      fs.rmSync(out, { recursive: true, force: true });
      die(`cannot bundle ${appName}:\n  ${[...new Set(problems)].join('\n  ')}`);
    }
    checkBarrels(barrels);
    if (app.bundle) {
      const id = require('node:crypto').createHash('sha256').update(fs.readFileSync(path.join(out, app.bundle))).digest('hex').slice(0, 16);
      fs.writeFileSync(path.join(out, 'main.js'), loaderSource(app.bundle, id));
    }
    for (const { pkg, dirs } of users.values()) {
      const assets = runtimeFiles[pkg.name] ?? [];
      if (assets.length === 0) continue;
      // Each module's own directory exists, so `${__dirname}/../proto` resolves as in node_modules.
      for (const dir of dirs) fs.mkdirSync(path.join(out, dir), { recursive: true });
      for (const asset of assets) {
        const from = path.join(pkg.dir, asset);
        if (!fs.existsSync(from)) die(`${pkg.name}: ${asset} not found in ${pkg.dir}`);
        fs.cpSync(from, path.join(out, relocated(pkg, manifest.name), asset), { recursive: true });
      }
    }
    fs.mkdirSync(path.join(out, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(appDir, 'dist', 'build-info.json'), path.join(out, 'dist', 'build-info.json'));
    const deployed = {
      name: manifest.name,
      version: manifest.version,
      description: manifest.description,
      license: manifest.license ?? 'Apache-2.0',
      private: true,
      main: 'main.js',
      bin: { [app.bin]: 'main.js' },
      engines: { node: '>=24' },
    };
    fs.writeFileSync(path.join(out, 'package.json'), `${JSON.stringify(deployed, null, 2)}\n`);
    for (const file of ['main.js', 'health-check.js']) if (fs.existsSync(path.join(out, file))) fs.chmodSync(path.join(out, file), 0o755);
  });
}

main()?.catch((err) => die(err instanceof Error ? err.message : String(err)));
