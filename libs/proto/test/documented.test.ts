import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, type DescriptorProto, type EnumDescriptorProto, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';

// The contract is called from other languages by people who never read this code: every message,
// field, oneof, enum, enum value, service and method of proto/flotilla must say what it is in a
// leading comment. The descriptor set `buf build` makes (with source info) holds the comments.

const root = path.join(__dirname, '..', '..', '..');

// Field numbers of descriptor.proto, which the paths of SourceCodeInfo locations are made of.
const FILE_MESSAGE = 4;
const FILE_ENUM = 5;
const FILE_SERVICE = 6;
const MESSAGE_FIELD = 2;
const MESSAGE_NESTED = 3;
const MESSAGE_ENUM = 4;
const MESSAGE_ONEOF = 8;
const ENUM_VALUE = 2;
const SERVICE_METHOD = 2;

interface Element {
  /** What it is and its full name, as the failure names it: "field flotilla.cluster.v1.AddEngineRequest.address". */
  name: string;
  path: number[];
}

function enumElements(e: EnumDescriptorProto, scope: string, at: number[]): Element[] {
  const name = `${scope}.${e.name}`;
  return [{ name: `enum ${name}`, path: at }, ...e.value.map((v, i) => ({ name: `enum value ${name}.${v.name}`, path: [...at, ENUM_VALUE, i] }))];
}

function messageElements(m: DescriptorProto, scope: string, at: number[]): Element[] {
  // Map fields come with a synthetic entry message, which has no source to comment.
  if (m.options?.mapEntry) return [];
  const name = `${scope}.${m.name}`;
  return [
    { name: `message ${name}`, path: at },
    ...m.field.map((f, i) => ({ name: `field ${name}.${f.name}`, path: [...at, MESSAGE_FIELD, i] })),
    // proto3 `optional` fields get a synthetic oneof, which has no source either.
    ...m.oneofDecl.flatMap((o, i) => (m.field.some((f) => f.oneofIndex === i && f.proto3Optional) ? [] : [{ name: `oneof ${name}.${o.name}`, path: [...at, MESSAGE_ONEOF, i] }])),
    ...m.nestedType.flatMap((n, i) => messageElements(n, name, [...at, MESSAGE_NESTED, i])),
    ...m.enumType.flatMap((e, i) => enumElements(e, name, [...at, MESSAGE_ENUM, i])),
  ];
}

function fileElements(file: FileDescriptorProto): Element[] {
  const scope = file.package;
  return [
    ...file.messageType.flatMap((m, i) => messageElements(m, scope, [FILE_MESSAGE, i])),
    ...file.enumType.flatMap((e, i) => enumElements(e, scope, [FILE_ENUM, i])),
    ...file.service.flatMap((s, i) => [
      { name: `service ${scope}.${s.name}`, path: [FILE_SERVICE, i] },
      ...s.method.map((m, j) => ({ name: `rpc ${scope}.${s.name}.${m.name}`, path: [FILE_SERVICE, i, SERVICE_METHOD, j] })),
    ]),
  ];
}

/** The contract's files, built by buf with their comments. */
function contractFiles(): FileDescriptorProto[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'flotilla-proto-docs-'));
  try {
    const out = path.join(dir, 'contract.binpb');
    execFileSync(path.join(root, 'node_modules', '.bin', 'buf'), ['build', '--exclude-imports', '--as-file-descriptor-set', '-o', out], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    return fromBinary(FileDescriptorSetSchema, readFileSync(out)).file.filter((f) => f.name.startsWith('flotilla/'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const files = contractFiles();

it('builds every file of the contract', () => {
  expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['flotilla/agent/v1/agent.proto', 'flotilla/cluster/v1/cluster.proto', 'flotilla/discovery/v1/discovery.proto', 'flotilla/engine/v1/engine.proto']));
});

describe.each(files.map((f) => [f.name, f] as const))('%s', (_name, file) => {
  it('has a leading comment on every message, field, oneof, enum, enum value, service and rpc', () => {
    const comments = new Map<string, string>();
    for (const location of file.sourceCodeInfo?.location ?? []) comments.set(location.path.join('.'), location.leadingComments ?? '');
    const elements = fileElements(file);
    // The walk itself is checked: a file with elements has comments to find.
    expect(elements.length).toBeGreaterThan(0);
    const undocumented = elements.filter((e) => !comments.get(e.path.join('.'))?.trim()).map((e) => e.name);
    expect(undocumented).toEqual([]);
  });
});
