/** Pure: the one check of an http(s) URL a user gives, and the one way a URL is shown. */
import { usageError } from './errors.ts';

/** The URL parsed; a usage error naming the field (never the credentials) otherwise. */
export function parseHttpUrl(url: string, field: string, example: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`${field}: ${JSON.stringify(redactUrl(url))} is not a URL (expected e.g. ${example})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError(`${field}: ${redactUrl(url)} must be http:// or https://`);
  }
  return parsed;
}

/**
 * The URL with any user:password removed, for messages and logs. Text that does not parse as a
 * URL keeps its shape with anything between `//` and the last `@` of its authority masked.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/^([^:/]*:\/\/)[^/?#]*@/, '$1***@');
  }
}
