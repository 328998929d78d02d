import { describe, expect, it } from 'vitest';
import { envName, loadConfig } from '../../operator/src/config/config.js';

describe('operator config (env + flags, zod)', () => {
  it('has sensible defaults', () => {
    const c = loadConfig([], {});
    expect(c.watchNamespaces).toBeUndefined();
    expect(c.metricsPort).toBe(8080);
    expect(c.probePort).toBe(8081);
    expect(c.leaderElect).toBe(true);
    expect(c.leaseDurationSeconds).toBe(15);
    expect(c.concurrency).toBe(4);
    expect(c.logLevel).toBe('info');
  });

  it('reads env, and flags override env', () => {
    const env = { [envName('watchNamespaces')]: 'a, b,a', [envName('metricsPort')]: '9000', MINEFLEET_LOG_LEVEL: 'debug', POD_NAMESPACE: 'ops' };
    const c = loadConfig(['--metrics-port=9100', '--concurrency', '8', '--no-leader-elect'], env);
    expect(c.watchNamespaces).toEqual(['a', 'b']);
    expect(c.metricsPort).toBe(9100);
    expect(c.concurrency).toBe(8);
    expect(c.leaderElect).toBe(false);
    expect(c.logLevel).toBe('debug');
    expect(c.leaseNamespace).toBe('ops');
    expect(loadConfig(['--watch-namespaces=*'], {}).watchNamespaces).toBeUndefined();
  });

  it('names every bad setting by flag and env var', () => {
    expect(() => loadConfig(['--metrics-port=70000', '--concurrency=0'], {})).toThrow(
      /--metrics-port \(MINEFLEET_METRICS_PORT\): metrics port must be between 0 and 65535[\s\S]*--concurrency/,
    );
    expect(() => loadConfig(['--lease-duration=5', '--renew-deadline=6'], {})).toThrow(/lease duration \(5s\) must be greater than renew deadline \(6s\)/);
    expect(() => loadConfig(['--watch-namespaces=Bad_NS'], {})).toThrow(/watch namespace "Bad_NS" is not a valid namespace name/);
    expect(() => loadConfig(['--log-level=loud'], {})).toThrow(/--log-level/);
    expect(() => loadConfig(['--frobnicate'], {})).toThrow(/unknown flag --frobnicate/);
    expect(() => loadConfig(['--metrics-port'], {})).toThrow(/needs a value/);
  });

  it('reads the NetworkPolicy selectors as matchLabels and names a malformed one', () => {
    const d = loadConfig([], {});
    expect(d.operatorPodSelector).toEqual({ 'app.kubernetes.io/name': 'minefleet', 'app.kubernetes.io/component': 'operator' });
    expect(d.prometheusPodSelector).toEqual({ 'app.kubernetes.io/name': 'prometheus' });
    expect(d.prometheusNamespaceSelector).toEqual({});
    const c = loadConfig(['--prometheus-pod-selector=app=prom, tier=scrape', '--prometheus-namespace-selector=team=monitoring'], {
      MINEFLEET_OPERATOR_POD_SELECTOR: 'app.kubernetes.io/instance=mf',
    });
    expect(c.prometheusPodSelector).toEqual({ app: 'prom', tier: 'scrape' });
    expect(c.prometheusNamespaceSelector).toEqual({ team: 'monitoring' });
    expect(c.operatorPodSelector).toEqual({ 'app.kubernetes.io/instance': 'mf' });
    expect(() => loadConfig(['--prometheus-pod-selector=app'], {})).toThrow(
      /--prometheus-pod-selector \(MINEFLEET_PROMETHEUS_POD_SELECTOR\): Prometheus pod selector: "app" is not key=value/,
    );
    expect(() => loadConfig(['--operator-pod-selector=bad key=x'], {})).toThrow(/operator pod selector: "bad key=x"/);
  });
});
