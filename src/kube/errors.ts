// One-line descriptions of the errors client-node produces, for status
// messages and logs. client-node's ApiException message spans several lines
// (code, message, body, headers); the Status object in its body says what the
// apiserver meant.

interface StatusBody {
  readonly message?: unknown;
  readonly reason?: unknown;
}

function statusFromBody(body: unknown): StatusBody | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return body.trim() === '' ? undefined : { message: body.trim().split('\n')[0] };
    }
  }
  return parsed !== null && typeof parsed === 'object' ? (parsed as StatusBody) : undefined;
}

const firstLine = (s: string): string => s.split('\n')[0]?.trim() ?? '';

/**
 * Credentials never leave in an error text, which the endpoints and logs show:
 * a URL's user:password@ (an HTTP client may put the whole URL in its message) and a
 * bearer or basic Authorization value.
 */
export function redactCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi, '$1<redacted>@').replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 <redacted>');
}

export function describeKubeError(err: unknown): string {
  return redactCredentials(describeUnredacted(err));
}

function describeUnredacted(err: unknown): string {
  if (err === null || err === undefined) return 'unknown error';
  if (typeof err !== 'object') return firstLine(String(err));
  const e = err as { name?: unknown; message?: unknown; code?: unknown; statusCode?: unknown; body?: unknown; cause?: unknown };
  // client-node's ApiException carries the HTTP status in `code`; a DOMException
  // (AbortError, TimeoutError) also has a numeric legacy `code` that is not one.
  const isHttp = (n: unknown): n is number => typeof n === 'number' && n >= 100 && n <= 599 && !(err instanceof DOMException);
  const httpCode = isHttp(e.statusCode) ? e.statusCode : isHttp(e.code) ? e.code : undefined;
  if (httpCode !== undefined) {
    const status = statusFromBody(e.body);
    const reason = typeof status?.reason === 'string' && status.reason !== '' ? ` ${status.reason}` : '';
    const msg =
      typeof status?.message === 'string' && status.message !== ''
        ? status.message
        : typeof e.message === 'string' && !e.message.startsWith('HTTP-Code')
          ? e.message
          : '';
    return `HTTP ${httpCode}${reason}${msg !== '' ? `: ${firstLine(msg)}` : ''}`;
  }
  // An error that wraps another (fetch's "fetch failed") hides the useful part (ECONNREFUSED ...) in its cause.
  const cause = e.cause as { message?: unknown; code?: unknown } | undefined;
  if (cause && typeof cause.message === 'string' && cause.message !== '') return firstLine(cause.message);
  const name = typeof e.name === 'string' && e.name !== 'Error' ? `${e.name}: ` : '';
  return `${name}${firstLine(typeof e.message === 'string' ? e.message : String(err))}`;
}
