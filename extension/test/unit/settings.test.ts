import * as assert from 'assert';
import { readSettings, settingDefaults } from '../../src/settings';

describe('settings.readSettings', () => {
  it('nests the keys the way workspace/configuration returns section devproxy', () => {
    const values: Record<string, unknown> = {
      apps: ['services/*/routes/*.conf'],
      overrides: [],
      listen: ':9090',
      'tunnel.listen': '127.0.0.1:9091',
      environment: 'staging',
      'proxy.enabled': false,
      'server.path': '/opt/devproxy',
      'trace.server': 'verbose',
      'calliope.providers': ['openai', 'bogus'],
      'calliope.baseUrl': 'http://127.0.0.1:1234/v1',
      'calliope.model': 'qwen',
      'calliope.docs': ['NOTES.md'],
    };
    assert.deepStrictEqual(
      readSettings((k) => values[k]),
      {
        apps: ['services/*/routes/*.conf'],
        overrides: [],
        listen: ':9090',
        tunnel: { listen: '127.0.0.1:9091' },
        environment: 'staging',
        proxy: { enabled: false },
        server: { path: '/opt/devproxy' },
        trace: { server: 'verbose' },
        calliope: { providers: ['openai'], baseUrl: 'http://127.0.0.1:1234/v1', model: 'qwen', docs: ['NOTES.md'] },
      },
    );
  });

  it('falls back to the defaults for missing or mistyped values', () => {
    assert.deepStrictEqual(
      readSettings(() => undefined),
      settingDefaults,
    );
    const bad: Record<string, unknown> = { apps: 'apps/*.conf', listen: 8080, 'proxy.enabled': 'yes', 'trace.server': 'loud' };
    assert.deepStrictEqual(
      readSettings((k) => bad[k]),
      settingDefaults,
    );
  });
});
