import { InvalidArgumentError } from '@flotilla/errors';
import { checkImageReference, checkNewImageTag, taggedReference } from './image-reference';

describe('checkImageReference', () => {
  it.each(['busybox', 'busybox:1.36', 'registry.local:5000/team/app:v2', 'app@sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64), '3f57d9401f8d'])('takes %s', (reference) => {
    expect(checkImageReference('image', reference)).toBe(reference);
  });

  it.each([
    ['', 'required'],
    ['a/../../containers/x', '".."'],
    ['a//b', 'empty'],
    ['a/./x', '"."'],
    ['busybox?force=1', 'letters, digits'],
    ['busy box', 'letters, digits'],
    ['-busybox', 'starting with'],
    ['a@b@c', 'at most one "@"'],
    ['x'.repeat(513), 'at most 512'],
  ])('refuses %j naming the field (%s)', (reference, why) => {
    const attempt = () => checkImageReference('image', reference);
    expect(attempt).toThrow(InvalidArgumentError);
    expect(attempt).toThrow(why);
    expect(attempt).toThrow(/^image /);
  });
});

describe('checkNewImageTag', () => {
  it.each([
    ['app', { repo: 'app', tag: 'latest' }],
    ['team/app:v1.2', { repo: 'team/app', tag: 'v1.2' }],
    ['registry.local:5000/app', { repo: 'registry.local:5000/app', tag: 'latest' }],
    ['localhost/a__b-c.d:_x', { repo: 'localhost/a__b-c.d', tag: '_x' }],
  ])('splits %s', (value, split) => {
    expect(checkNewImageTag('tag', value)).toEqual(split);
  });

  it.each([
    ['App:v1', 'lower-case'],
    ['app:-v1', 'the tag "-v1"'],
    ['app:' + 'v'.repeat(129), 'the tag'],
    ['a..b', 'lower-case'],
    ['app@sha256:' + 'a'.repeat(64), 'digest'],
    ['bad_host.:5000/app', 'registry host'],
  ])('refuses %j naming the field (%s)', (value, why) => {
    expect(() => checkNewImageTag('tag', value)).toThrow(why);
    expect(() => checkNewImageTag('tag', value)).toThrow(/^tag /);
  });

  it('stays linear on a long run of separators', () => {
    // A nested-repetition grammar backtracks exponentially on this; ours answers at once.
    expect(() => checkNewImageTag('tag', `${'a-'.repeat(200)}!`)).toThrow(InvalidArgumentError);
    expect(() => checkNewImageTag('tag', `${'a_'.repeat(250)}`)).toThrow(InvalidArgumentError);
  });
});

describe('taggedReference', () => {
  it.each([
    ['busybox', 'busybox:latest'],
    ['busybox:1.36', 'busybox:1.36'],
    ['registry.local:5000/app', 'registry.local:5000/app:latest'],
    ['registry.local:5000/app:v2', 'registry.local:5000/app:v2'],
    ['app@sha256:abc', 'app@sha256:abc'],
  ])('reads %s as %s', (ref, tagged) => expect(taggedReference(ref)).toBe(tagged));
});
