import { driverConformance } from '../testing.ts';
import { FakeClock, fakeDriverFactory } from './driver.ts';

driverConformance('the --simulate model', {
  open: () =>
    fakeDriverFactory({ clock: new FakeClock(), registryPerSession: true }).factory({
      workers: 1,
      gate: true,
      featureGates: {},
      kubelet: { imagePullFallbackTimeout: 10, imagePullFallbackCircuitBreakerWindow: 0, serializeImagePulls: false },
    }),
});
