import { ClusterEngine } from '@flotilla/proto/cluster';
import { inNameOrder } from './pages';

describe('inNameOrder', () => {
  it('orders engines by name, the address standing in for a missing name, then by address, as engine ls always showed them', () => {
    const engine = (name: string, address: string) => ClusterEngine.fromPartial({ name, address });
    const engines = [engine('zeta', '10.0.0.1:4250'), engine('', '10.0.0.3:4250'), engine('alpha', '10.0.0.9:4250'), engine('alpha', '10.0.0.2:4250'), engine('Beta', '10.0.0.4:4250')];
    expect(inNameOrder(engines).map((e) => e.address)).toEqual(['10.0.0.3:4250', '10.0.0.2:4250', '10.0.0.9:4250', '10.0.0.4:4250', '10.0.0.1:4250']);
    // The listing it was given is left as it was.
    expect(engines[0].name).toBe('zeta');
  });
});
