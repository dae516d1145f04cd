import * as assert from 'assert';
import { parseExplainInput } from '../../src/explainInput';

describe('explainInput.parseExplainInput', () => {
  it('takes a path with a query, or a full URL', () => {
    assert.deepStrictEqual(parseExplainInput(' /api/x?y=1 '), { params: { url: '/api/x?y=1' } });
    assert.deepStrictEqual(parseExplainInput('http://127.0.0.1:8080/web/'), { params: { url: 'http://127.0.0.1:8080/web/' } });
  });

  it('takes a method first', () => {
    assert.deepStrictEqual(parseExplainInput('post /api/x'), { params: { url: '/api/x', method: 'POST' } });
  });

  it('adds the leading slash a path forgot', () => {
    assert.deepStrictEqual(parseExplainInput('api/x'), { params: { url: '/api/x' } });
  });

  it('rejects empty input and stray words', () => {
    assert.ok('error' in parseExplainInput('   '));
    assert.ok('error' in parseExplainInput('/a /b /c'));
  });
});
