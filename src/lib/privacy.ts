/**
 * The visitor's privacy choices as the device holds them: the opt-out flag
 * (`fp_optout`, in a cookie and in localStorage) and Global Privacy Control.
 */
import { readCookie, topDomain, writeCookie } from './cookies';
import { lsGet, lsSet } from './storage';

/**
 * Cookie and localStorage key remembering a visitor's opt-out (our choice of
 * name). It holds `1` and nothing about the visitor; it is written only on
 * the visitor's request (`optOut()`), whatever the storage option, because
 * the request must outlive the page.
 */
export const OPT_OUT = 'fp_optout';

/** Whether this visitor opted out, on this page or any other of the site (cookie or localStorage). */
export function isOptedOut(): boolean {
  return readCookie(OPT_OUT) === '1' || lsGet(OPT_OUT) === '1';
}

/**
 * Remembers (or forgets) the opt-out for a year, in both cookie and
 * localStorage. The cookie goes on the site's Domain (the tracker's cookie
 * Domain, else the registrable domain probed now) whatever the storage
 * option: an opt-out holds for every subdomain's tabs and visits.
 */
export function setOptedOut(out: boolean, domain: string): void {
  writeCookie(OPT_OUT, out ? '1' : '', out ? 31536000 : 0, domain || topDomain());
  lsSet(OPT_OUT, out ? '1' : null);
}

/**
 * Whether the browser sends a privacy signal we honour: Global Privacy Control
 * (`navigator.globalPrivacyControl`, a legal opt-out of sale/sharing under
 * CCPA/CPRA). Do Not Track is not honoured: it was withdrawn as a standard
 * and browsers are removing it.
 */
export function hasPrivacySignal(): boolean {
  try {
    return (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl === true;
  } catch {
    return false;
  }
}
