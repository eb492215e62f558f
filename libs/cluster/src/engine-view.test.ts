import { classicEngineAction } from './engine-view';

describe("classic Swarm's names of engine events", () => {
  it('maps connect, disconnect and reconnect, and nothing else', () => {
    expect(['connect', 'disconnect', 'reconnect', 'pending', 'removed', 'error', 'start'].map(classicEngineAction)).toEqual(['engine_connect', 'engine_disconnect', 'engine_reconnect', '', '', '', '']);
  });
});
