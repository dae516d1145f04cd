import * as assert from 'assert';
import { environmentChoices, isEnvironmentsResult } from '../../src/environments';
import { initialStatus, renderStatus } from '../../src/statusBar';

describe('environments', () => {
  it('offers None and every profile, marking the active one', () => {
    assert.deepStrictEqual(
      environmentChoices({ active: 'staging', known: true, names: ['dev', 'staging'] }).map((c) => [c.label, c.description, c.name]),
      [
        ['None', 'the upstreams as the route files write them', ''],
        ['dev', '', 'dev'],
        ['staging', 'active', 'staging'],
      ],
    );
    assert.strictEqual(environmentChoices({ active: '', known: true, names: ['dev'] })[0].description, 'active');
  });

  it('lists an active name devproxy.json does not define, so that it can be left', () => {
    const choices = environmentChoices({ active: 'prod', known: false, names: ['dev'] });
    assert.deepStrictEqual(choices.map((c) => c.name), ['', 'dev', 'prod']);
    assert.match(choices[2].description, /does not define it/);
  });

  it('recognises a devproxy/environments answer', () => {
    assert.ok(isEnvironmentsResult({ active: '', known: true, names: [] }));
    assert.ok(!isEnvironmentsResult({ active: 1, names: [] }));
    assert.ok(!isEnvironmentsResult(null));
  });

  it('shows the active environment in the status bar text and tooltip, escaped', () => {
    const plain = renderStatus(initialStatus, '/home/me');
    const staging = renderStatus(initialStatus, '/home/me', 'staging');
    assert.strictEqual(staging.text, `${plain.text} · env: staging`);
    assert.ok(staging.tooltip.startsWith('Environment: **staging**'));
    assert.ok(!renderStatus(initialStatus, '/home/me', '*x*').tooltip.includes('**x**'), 'the name is escaped');
    assert.strictEqual(renderStatus(initialStatus, '/home/me', '').text, plain.text);
  });
});
