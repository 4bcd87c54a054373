/** Reads one cookie by name; `undefined` when missing or when cookies are refused. */
export function readCookie(name: string): string | undefined {
  try {
    const match = document.cookie.match('(^|; )' + name + '=([^;]*)');
    if (match) return decodeURIComponent(match[2]);
  } catch {
    // Sandboxed iframes throw SecurityError on document.cookie.
  }
}

/**
 * Writes a first-party cookie with `Path=/; SameSite=Lax`, `Secure` on https,
 * and `Domain` when one is given. `maxAgeSeconds` 0 deletes it; `undefined`
 * makes a browser-session cookie.
 */
export function writeCookie(name: string, value: string, maxAgeSeconds: number | undefined, domain?: string): void {
  try {
    document.cookie =
      name + '=' + encodeURIComponent(value) + '; Path=/; SameSite=Lax' +
      (maxAgeSeconds === undefined ? '' : '; Max-Age=' + maxAgeSeconds) +
      (domain ? '; Domain=' + domain : '') +
      (location.protocol === 'https:' ? '; Secure' : '');
  } catch {
    // Refused cookies are handled by the caller's localStorage/memory fallback.
  }
}

/**
 * The highest domain that accepts a cookie, so `www.example.com` and
 * `fp.example.com` share one profile. Browsers refuse cookies on public
 * suffixes (`co.uk`, `github.io`), so trying from the shortest candidate
 * upward finds the registrable domain without shipping the suffix list.
 * Returns `''` (a host-only cookie) for IP addresses and single-label hosts
 * such as `localhost`, and the hostname itself when no parent domain sticks.
 * The probe's value is the candidate, so a probe left by another tab cannot
 * make a public suffix look accepted.
 */
export function topDomain(hostname = location.hostname): string {
  if (/^[\d.]+$|:|^[^.]+$/.test(hostname)) return '';
  const labels = hostname.split('.');
  for (let i = labels.length - 2; i > 0; i--) {
    const candidate = labels.slice(i).join('.');
    writeCookie('fp_probe', candidate, 60, candidate);
    if (readCookie('fp_probe') === candidate) {
      writeCookie('fp_probe', '', 0, candidate);
      return candidate;
    }
  }
  return hostname;
}
