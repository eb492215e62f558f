import { InvalidArgumentError } from '@flotilla/errors';
import { ExecOptions } from '@flotilla/proto';
import { checkAttachOptions, checkExecOptions, checkSessionInput, maxStdinMessageBytes } from './session-options';

const exec = (options: Partial<ExecOptions>) => checkExecOptions('start.options', ExecOptions.fromPartial(options));
const refusal = (work: () => unknown): string => {
  try {
    work();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
};

it('takes what docker exec takes', () => {
  expect(exec({ command: ['sh', '-c', 'echo hi'], env: ['A=1', 'EMPTY='], user: '1000:1000', workingDir: '/tmp', tty: true, terminalSize: { rows: 24, columns: 80 } }).command).toEqual(['sh', '-c', 'echo hi']);
});

it('refuses bad options naming the field and the value', () => {
  expect(refusal(() => checkExecOptions('start.options', undefined))).toMatch(/^start\.options/);
  expect(refusal(() => exec({ command: [] }))).toMatch(/^start\.options\.command .*required/);
  expect(refusal(() => exec({ command: [''] }))).toMatch(/^start\.options\.command /);
  expect(refusal(() => exec({ command: ['true'], env: ['NOVALUE'] }))).toMatch(/^start\.options\.env\[0\] "NOVALUE".*NAME=value/);
  expect(refusal(() => exec({ command: ['true'], env: ['=x'] }))).toMatch(/^start\.options\.env\[0\]/);
  expect(refusal(() => exec({ command: ['a\0b'] }))).toMatch(/^start\.options\.command\[0\]/);
  expect(refusal(() => exec({ command: ['true'], user: 'two words' }))).toMatch(/^start\.options\.user "two words"/);
  expect(refusal(() => exec({ command: ['true'], workingDir: 'relative' }))).toMatch(/^start\.options\.working_dir "relative"/);
  expect(refusal(() => exec({ command: ['true'], terminalSize: { rows: 24, columns: 80 } }))).toMatch(/^start\.options\.terminal_size .*only with tty/);
  expect(refusal(() => exec({ command: ['true'], tty: true, terminalSize: { rows: 0, columns: 80 } }))).toMatch(/^start\.options\.terminal_size\.rows 0/);
  expect(refusal(() => exec({ command: ['true'], tty: true, terminalSize: { rows: 24, columns: 70_000 } }))).toMatch(/^start\.options\.terminal_size\.columns 70000/);
});

it('takes stdin only when the session reads it, resizes only with a TTY, nothing else after the start', () => {
  const bytes = { $case: 'stdin' as const, value: Buffer.from('hi') };
  const resize = { $case: 'resize' as const, value: { rows: 40, columns: 120 } };
  expect(checkSessionInput({ stdin: true, tty: false }, bytes)).toBe(bytes);
  expect(checkSessionInput({ stdin: false, tty: true }, resize)).toEqual(resize);
  expect(refusal(() => checkSessionInput({ stdin: false, tty: false }, bytes))).toMatch(/^stdin "2 bytes".*without options\.stdin/);
  expect(refusal(() => checkSessionInput({ stdin: false, tty: false }, resize, 'attach'))).toMatch(/^resize "40x120".*the container has no TTY/);
  expect(refusal(() => checkSessionInput({ stdin: true, tty: false }, { $case: 'stdin', value: Buffer.alloc(maxStdinMessageBytes + 1) }))).toMatch(/^stdin .*at most 1048576 bytes/);
  expect(refusal(() => checkSessionInput({ stdin: true, tty: true }, { $case: 'start', value: {} }))).toMatch(/^request "start"/);
  expect(refusal(() => checkSessionInput({ stdin: true, tty: true }, undefined))).toMatch(/^request "empty"/);
});

it('attaches without options as docker attach --no-stdin would, and checks a terminal size', () => {
  expect(checkAttachOptions('start.options', undefined)).toEqual({ stdin: false, logs: false, terminalSize: undefined });
  expect(refusal(() => checkAttachOptions('start.options', { stdin: true, logs: false, terminalSize: { rows: 24, columns: 0 } }))).toMatch(/^start\.options\.terminal_size\.columns 0/);
});
