import { ClusterEngine, ClusterEvent, EngineStatus, PlacementExplanation } from '@flotilla/proto/cluster';
import { eventFields, eventLine } from './commands/events';
import { engineColumns, engineFields, healthText, healthWord, lagText } from './commands/info';
import type { Output } from './io';
import { palette } from './io';
import { placementTable } from './output/placement';
import { renderTable } from './output/table';

// An engine's health is one word in every command: the STATUS of info and engine ls, the reason
// explain gives, and the engine events. The manager says the word (health_state); these check
// the CLI shows it as it is, with the score and its time left.

const now = Date.parse('2026-11-29T10:00:00Z');
const out: Output = { write: () => undefined, isTTY: false, columns: undefined, flush: async () => undefined };

const flapping = ClusterEngine.fromPartial({
  address: '10.0.0.1:4250',
  id: 'E1',
  name: 'node-1',
  status: EngineStatus.ENGINE_STATUS_HEALTHY,
  health: 1,
  healthState: 'flapping',
  recentFailures: 3,
  flappingUntil: new Date(now + 4 * 60_000),
});
const steady = ClusterEngine.fromPartial({ address: '10.0.0.2:4250', id: 'E2', name: 'node-2', status: EngineStatus.ENGINE_STATUS_HEALTHY, health: 100, healthState: 'healthy' });
const shaken = ClusterEngine.fromPartial({ address: '10.0.0.3:4250', id: 'E3', name: 'node-3', status: EngineStatus.ENGINE_STATUS_HEALTHY, health: 67, healthState: 'healthy', recentFailures: 1 });

describe('the health word', () => {
  it('is the manager\'s health_state, or the status for a manager that does not say', () => {
    expect(healthWord(flapping)).toBe('flapping');
    expect(healthWord(ClusterEngine.fromPartial({ status: EngineStatus.ENGINE_STATUS_UNHEALTHY }))).toBe('unhealthy');
  });

  it('info and engine ls show it as STATUS, and the score with what lowered it as HEALTH', () => {
    const rows = [flapping, steady, shaken].map((e) => engineFields(e, now));
    expect(rows.map((r) => [r.Status, r.HealthText])).toEqual([
      ['flapping', '1 (3 recent failures; steady in 4 minutes)'],
      ['healthy', '100'],
      ['healthy', '67 (1 recent failure)'],
    ]);
    for (const withId of [false, true]) {
      const table = renderTable(rows, engineColumns(palette(false), withId)).split('\n');
      expect(table[0]).toMatch(/^NAME\s+ADDRESS\s+(ID\s+)?STATUS\s+HEALTH\s+CONTAINERS/);
      expect(table[1]).toMatch(/^node-1\s+10\.0\.0\.1:4250\s+(E1\s+)?flapping\s+1 \(3 recent failures; steady in 4 minutes\)\s/);
      expect(table[2]).toMatch(/\shealthy\s+100\s/);
    }
    expect(healthText(flapping, now + 10 * 60_000)).toBe('1 (3 recent failures; steady in less than a second)');
  });

  it('engine events carry it', () => {
    const event = ClusterEvent.fromPartial({ type: 'engine', action: 'reconnect', engine: { id: 'E1', name: 'node-1', address: flapping.address }, time: new Date(now), engineState: flapping });
    expect(eventLine(event)).toBe('2026-11-29T10:00:00.000Z engine reconnect 10.0.0.1:4250 (name=node-1, id=E1, health=flapping)');
    expect(eventFields(event).Health).toBe('flapping');
  });

  it('explain says it for an engine that fits but weighs less, and for one it refuses', () => {
    const explanation = PlacementExplanation.fromPartial({
      strategy: 'spread',
      engines: [
        { engine: { id: 'E2', name: 'node-2', address: steady.address }, chosen: true, score: -800 },
        { engine: { id: 'E1', name: 'node-1', address: flapping.address }, score: 190, reason: 'flapping: 3 failures in the last 5m; placed only when no steadier engine fits, until 2026-11-29T10:04:00.000Z' },
        { engine: { id: 'E4', name: 'node-4', address: '10.0.0.4:4250' }, filter: 'health', reason: 'engine is unhealthy: 14 UNAVAILABLE: Connection dropped' },
      ],
    });
    const lines = placementTable(explanation, out, false).split('\n');
    expect(lines[1]).toMatch(/^node-2\s+10\.0\.0\.2:4250\s+chosen\s+score -800$/);
    expect(lines[2]).toMatch(/^node-1\s+10\.0\.0\.1:4250\s+fits\s+score 190; flapping: 3 failures in the last 5m; placed only when no steadier engine fits, until 2026-11-29T10:04:00\.000Z$/);
    expect(lines[3]).toMatch(/^node-4\s+10\.0\.0\.4:4250\s+rejected\s+health\s+engine is unhealthy: 14 UNAVAILABLE: Connection dropped$/);
  });
});

it("info words the manager's event-loop lag and its late heartbeat sweeps", () => {
  expect(lagText({ eventLoopLagP99Ms: 2.6, eventLoopLagMaxMs: 41, lateHeartbeatSweeps: 0 })).toBe('p99 3 ms, max 41 ms over the last minute');
  expect(lagText({ eventLoopLagP99Ms: 150, eventLoopLagMaxMs: 9750, lateHeartbeatSweeps: 1 })).toBe('p99 150 ms, max 9750 ms over the last minute; 1 late heartbeat sweep (manager stalled)');
});
