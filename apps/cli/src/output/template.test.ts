import { UsageError } from '../errors';
import { Template } from './template';

const data = { Name: 'web', Engine: 'engine-2', engine: { address: '127.0.0.1:4251' }, Labels: { zone: 'b', 'com.docker.swarm.id': 'abc' }, Names: ['web', 'alias'], Count: 3 };

it.each([
  ['{{.Name}}', 'web'],
  ['{{ .Name }} on {{.Engine}}', 'web on engine-2'],
  ['{{.engine.address}}', '127.0.0.1:4251'],
  ['{{.Engine.Address}}', ''],
  ['{{.name}}', 'web'],
  ['{{.Labels.zone}}', 'b'],
  ['{{index .Labels "com.docker.swarm.id"}}', 'abc'],
  ['{{json .Labels}}', '{"zone":"b","com.docker.swarm.id":"abc"}'],
  ['{{join .Names "|"}}', 'web|alias'],
  ['{{.Names}}', 'web,alias'],
  ['{{upper .Name}}', 'WEB'],
  ['{{len .Names}}', '2'],
  ['{{.Missing}}', ''],
  ['{{.Name}}\\t{{.Count}}', 'web\t3'],
  ['{{json .}}', JSON.stringify(data)],
])('%s', (source, out) => expect(Template.parse(source).render(data)).toBe(out));

it.each(['{{.Name', '{{}}', '{{bogus .Name}}', '{{.Name .Engine}}', '{{Name}}'])('rejects %j with a usage error', (source) => {
  expect(() => Template.parse(source)).toThrow(UsageError);
});
