#!/usr/bin/env node
// Builds PROJECT/deploy: what is deployed of a service or the CLI, self-contained, run with `node`
// alone (Node.js 24) from any directory, with no node_modules anywhere:
//
//   deploy/package.json            the manifest: name, version, entry point ("main": "main.js")
//   deploy/main.js                 the app, bundled by esbuild from its tsc build (dist/main.js)
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
  cli: { bin: 'flotilla' },
};

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
  const relocateDirname = {
    name: 'relocate-dirname',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        const source = fs.readFileSync(args.path, 'utf8');
        const usesDirname = /\b__dirname\b/.test(source);
        const usesFilename = /\b__filename\b/.test(source);
        if (!usesDirname && !usesFilename) return undefined;
        const pkg = packageOf(path.dirname(args.path));
        if (!pkg) {
          problems.push(`${path.relative(root, args.path)} uses __dirname and belongs to no package`);
          return undefined;
        }
        if (pkg.name !== manifest.name && !(pkg.name in runtimeFiles)) {
          problems.push(`${path.relative(root, args.path)} (package ${pkg.name}) uses __dirname or __filename: add what it reads at run time to runtimeFiles in tools/deploy/bundle.js`);
          return undefined;
        }
        if (!usesDirname) return undefined;
        // The app's own modules (dist/) become deploy/dist/.
        const own = path.relative(pkg.dir, path.dirname(args.path));
        const sub = pkg.name === manifest.name ? path.join('dist', own.replace(/^(src|dist)(\/|$)/, '')) : own;
        const target = path.join(relocated(pkg, manifest.name), sub);
        if (!users.has(pkg.name)) users.set(pkg.name, { pkg, dirs: new Set() });
        users.get(pkg.name).dirs.add(target);
        const contents = source.replace(/\b__dirname\b/g, `require("node:path").join(__dirname, ${JSON.stringify(target)})`);
        const loader = path.extname(args.path).includes('ts') ? 'ts' : 'js';
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
  const builds = [esbuild.build({ ...common, entryPoints: [entry], outfile: path.join(out, 'main.js') })];
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
