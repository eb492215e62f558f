#!/usr/bin/env node
// Writes PROJECT/dist/build-info.json after a project's build: its package version and the git
// commit the build was made from ("unknown" outside a git checkout or without git). Services and
// the CLI read it for --version and their "configuration" log line; nothing runs git at run time.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const project = process.argv[2];
if (!project) {
  process.stderr.write('usage: node tools/build-info.js PROJECT_DIR\n');
  process.exit(2);
}
const root = path.resolve(__dirname, '..');
const dir = path.resolve(root, project);
const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
let commit = 'unknown';
try {
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  if (/^[0-9a-f]{40,64}$/.test(head)) commit = head.slice(0, 12);
} catch {
  // not a checkout, or no git: the build is unknown
}
fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
fs.writeFileSync(path.join(dir, 'dist', 'build-info.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, commit }, null, 2)}\n`);
