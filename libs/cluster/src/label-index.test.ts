import { EngineInfo } from '@flotilla/proto';
import { Engine } from './engine';
import { LabelIndex } from './label-index';

function engine(address: string, labels: Record<string, string>): Engine {
  const e = new Engine(address, 0);
  e.info = EngineInfo.fromPartial({ labels });
  return e;
}

describe('LabelIndex', () => {
  it('answers each label with the engines that carry it now, its cached list following every change', () => {
    const index = new LabelIndex();
    const a = engine('10.0.0.1:4250', { zone: 'A' });
    const b = engine('10.0.0.2:4250', { zone: 'a', disk: 'ssd' });
    index.add(a);
    expect(index.withLabel('zone', 'a')).toEqual([a]);
    index.add(b);
    expect(index.withLabel('zone', 'a')).toEqual([a, b]);
    expect(index.countWithLabel('zone', 'a')).toBe(2);
    a.info = EngineInfo.fromPartial({ labels: { zone: 'b' } });
    index.add(a);
    expect(index.withLabel('zone', 'a')).toEqual([b]);
    expect(index.withLabel('zone', 'b')).toEqual([a]);
    index.remove(b);
    expect(index.withLabel('zone', 'a')).toEqual([]);
    expect(index.withLabel('disk', 'ssd')).toEqual([]);
  });
});
