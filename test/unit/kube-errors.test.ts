// One-line descriptions of client-node's errors, for status messages.

import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { describeKubeError, redactCredentials } from '../../src/kube/errors.ts';

const status = JSON.stringify({ kind: 'Status', status: 'Failure', message: 'services is forbidden: User "x" cannot list', reason: 'Forbidden', code: 403 });
const watchError = Object.assign(new Error('Service Unavailable'), { statusCode: 503 });
const fetchFailed = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }) });

describe('describeKubeError', () => {
  const cases: { name: string; err: unknown; expected: string }[] = [
    {
      name: 'API exception with a Status body => code, reason, message',
      err: new ApiException(403, 'HTTP-Code: 403\nMessage: x\nBody: ...', status, {}),
      expected: 'HTTP 403 Forbidden: services is forbidden: User "x" cannot list',
    },
    {
      name: 'API exception with a non-JSON body => its first line',
      err: new ApiException(502, 'HTTP-Code: 502\nMessage: x', 'Bad gateway\nfrom proxy', {}),
      expected: 'HTTP 502: Bad gateway',
    },
    { name: 'watch error (statusCode) => code and status text', err: watchError, expected: 'HTTP 503: Service Unavailable' },
    { name: 'fetch failed => the socket error from its cause', err: fetchFailed, expected: 'connect ECONNREFUSED 127.0.0.1:6443' },
    {
      name: 'timeout (DOMException code 23 is not HTTP) => name and message',
      err: new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      expected: 'TimeoutError: The operation was aborted due to timeout',
    },
    { name: 'multi-line message => first line', err: new Error('first\nsecond'), expected: 'first' },
    { name: 'undefined => unknown error', err: undefined, expected: 'unknown error' },
    { name: 'string => as is', err: 'boom', expected: 'boom' },
  ];
  it.each(cases)('$name', ({ err, expected }) => {
    expect(describeKubeError(err)).toBe(expected);
  });
});

describe('redactCredentials', () => {
  it("drops a URL's user:password@ and Authorization values, keeps the rest", () => {
    expect(
      redactCredentials('Request cannot be constructed from a URL that includes credentials: https://admin:s3cret@10.0.0.1:6443/api/v1/services?limit=500'),
    ).toBe('Request cannot be constructed from a URL that includes credentials: https://<redacted>@10.0.0.1:6443/api/v1/services?limit=500');
    expect(redactCredentials('header Authorization: Bearer eyJhbGciOi.abc-def_ghi rejected')).toBe('header Authorization: Bearer <redacted> rejected');
    expect(redactCredentials('Basic YWRtaW46cGFzcw==')).toBe('Basic <redacted>');
    expect(redactCredentials('connect ECONNREFUSED 10.0.0.1:6443')).toBe('connect ECONNREFUSED 10.0.0.1:6443');
  });

  it('describeKubeError applies it', () => {
    expect(describeKubeError(new TypeError('fetch to http://u:p@h/ failed'))).toBe('TypeError: fetch to http://<redacted>@h/ failed');
  });
});
