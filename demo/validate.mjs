// What the demo collector accepts: a track body's events, or the reason the
// whole body is refused, and for each event whether it can be stored or the
// reason it is rejected. Pure functions (no storage, no HTTP); the rules are
// the ones demo/README.md states ("The rules the collector follows").

import { clip, deeperThan, keepable } from './limits.mjs';

export const TRACK_PATH = '/events/track';
export const BULK_PATH = '/events/track/bulk';

/** Every reason a rejected item can carry. */
export const REJECT_REASONS = Object.freeze([
  'malformed_json',
  'wrong_content_type',
  'body_not_object',
  'events_not_array',
  'too_many_events',
  'event_not_object',
  'event_too_deep',
  'missing_write_key',
  'unknown_write_key',
  'missing_name',
  'name_not_string',
  'properties_not_object',
  'context_not_object',
  'event_too_large',
]);

/** One readable line per reason, stored and answered beside it. */
export const REASON_TEXT = Object.freeze({
  malformed_json: 'Body is not valid JSON',
  wrong_content_type: "Content-Type must be 'application/json'",
  body_not_object: 'Body must be a JSON object',
  events_not_array: 'Bulk body needs an "events" array',
  too_many_events: 'Bulk body has more events than maxEventsPerRequest; none was stored',
  event_not_object: 'Event must be a JSON object',
  event_too_deep: 'Event nests objects/arrays deeper than maxEventDepth',
  missing_write_key: 'Event has no write_key',
  unknown_write_key: 'write_key is not one this collector accepts',
  missing_name: 'Event has no name (nor the older "event")',
  name_not_string: 'Event name must be a string',
  properties_not_object: 'properties must be a JSON object',
  context_not_object: 'context must be a JSON object',
  event_too_large: 'Event is larger than maxEventBytes',
});

/** Characters of an event's name or event_id kept in a summary. */
const SUMMARY_CHARS = 200;

/**
 * @typedef {{reason: string, item?: unknown}} Refusal
 * @typedef {{maxEventBytes: number, maxEventDepth: number, maxEventsPerRequest: number}} EventLimits
 */

/**
 * The events of a parsed body: the body itself on /events/track, its
 * `events` array on the bulk route; null when the body has no such shape.
 * @param {unknown} body
 * @param {string} route
 * @returns {unknown[]|null}
 */
function itemsOf(body, route) {
  if (!isPlainObject(body)) return null;
  if (route === TRACK_PATH) return [body];
  const { events, sent_at } = /** @type {{events?: unknown, sent_at?: unknown}} */ (body);
  if (!Array.isArray(events)) return null;
  // Our library sends sent_at once for the batch: each event is stored with it (its own wins).
  return typeof sent_at === 'string' ? events.map((event) => (isPlainObject(event) && !('sent_at' in event) ? { ...event, sent_at } : event)) : events;
}

/**
 * The events of a request body, or why the whole body is refused.
 * @param {string|undefined} contentType  The request's Content-Type header.
 * @param {string} route  TRACK_PATH or BULK_PATH.
 * @param {string} text  The body.
 * @param {EventLimits} limits
 * @returns {{items: unknown[]} | Refusal}
 */
export function bodyItems(contentType, route, text, limits) {
  if (!isJsonType(contentType)) {
    return { reason: 'wrong_content_type', item: { content_type: contentType ?? null, body_preview: clip(text) } };
  }
  let body;
  try { body = JSON.parse(text); } catch (err) {
    return { reason: 'malformed_json', item: { error: /** @type {Error} */ (err).message, body_preview: clip(text) } };
  }
  const items = itemsOf(body, route);
  if (items) {
    if (items.length <= limits.maxEventsPerRequest) return { items };
    return { reason: 'too_many_events', item: { events: items.length, max: limits.maxEventsPerRequest } };
  }
  const reason = isPlainObject(body) ? 'events_not_array' : 'body_not_object';
  return { reason, item: keepable(body, limits.maxEventDepth) };
}

/**
 * One event checked: the event as it will be stored (`event` renamed to
 * `name`) with its JSON size, or why it is rejected. The depth is checked
 * first: nothing below may recurse into an unchecked value.
 * @param {unknown} item
 * @param {Set<string>} writeKeys
 * @param {EventLimits} limits
 * @returns {{event: Record<string, unknown>, bytes: number} | Refusal}
 */
export function checkEvent(item, writeKeys, limits) {
  if (!isPlainObject(item)) return { reason: 'event_not_object', item: keepable(item, limits.maxEventDepth) };
  const given = /** @type {Record<string, unknown>} */ (item);
  if (deeperThan(given, limits.maxEventDepth)) return { reason: 'event_too_deep', item: { ...summary(given), max: limits.maxEventDepth } };
  const { event: legacyName, ...rest } = given;
  const event = { ...rest, name: given.name !== undefined ? given.name : legacyName };
  const keep = () => keepable(given, limits.maxEventDepth);
  if (event.write_key === undefined || event.write_key === null || event.write_key === '') return { reason: 'missing_write_key', item: keep() };
  if (typeof event.write_key !== 'string' || !writeKeys.has(event.write_key)) return { reason: 'unknown_write_key', item: keep() };
  if (event.name === undefined || event.name === null || event.name === '') return { reason: 'missing_name', item: keep() };
  if (typeof event.name !== 'string') return { reason: 'name_not_string', item: keep() };
  if ('properties' in event && !isPlainObject(event.properties)) return { reason: 'properties_not_object', item: keep() };
  if ('context' in event && !isPlainObject(event.context)) return { reason: 'context_not_object', item: keep() };
  const bytes = Buffer.byteLength(JSON.stringify(event));
  // Keep a summary, not the huge thing itself.
  if (bytes > limits.maxEventBytes) return { reason: 'event_too_large', item: { ...summary(given), bytes, max: limits.maxEventBytes } };
  return { event, bytes };
}

/**
 * What a request carried, read as far as its body allows, for the log of a
 * request that was not stored (a fault): the number of events and the first
 * `max` names and event_ids.
 * @param {string} text
 * @param {string} route
 * @param {number} [max=20]
 * @returns {{events: number, carried: {name?: string, event_id?: string}[]}}
 */
export function carriedBy(text, route, max = 20) {
  let items = null;
  try { items = itemsOf(JSON.parse(text), route); } catch { /* not JSON: carried nothing readable */ }
  if (!items) return { events: 0, carried: [] };
  return { events: items.length, carried: items.slice(0, max).map((item) => (isPlainObject(item) ? summary(/** @type {object} */ (item)) : {})) };
}

/**
 * An event's name and event_id, when they are strings, cut to 200 characters.
 * @param {Record<string, unknown>} item
 * @returns {{name?: string, event_id?: string}}
 */
export function summary(item) {
  const name = typeof item.name === 'string' ? item.name : item.event;
  const out = {};
  if (typeof name === 'string') out.name = clip(name, SUMMARY_CHARS);
  if (typeof item.event_id === 'string') out.event_id = clip(item.event_id, SUMMARY_CHARS);
  return out;
}

/**
 * True for `application/json` with any parameters (`; charset=utf-8`). The
 * demo API requires it too: a cross-origin page can send it only after a CORS
 * preflight, whereas `text/plain`, form and multipart bodies need none.
 * @param {string|undefined} contentType
 */
export function isJsonType(contentType) {
  return String(contentType || '').split(';')[0].trim().toLowerCase() === 'application/json';
}

/** @param {unknown} value */
export function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
