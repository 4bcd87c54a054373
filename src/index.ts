/**
 * firstparty-js for bundlers:
 *
 * ```ts
 * import { createFirstparty } from 'firstparty-js';
 * const firstparty = createFirstparty();
 * firstparty.load('WRITE_KEY', 'fp.example.com');
 * firstparty.track('Form Completed', { plan: 'pro' });
 * ```
 */
export { createFirstparty } from './firstparty';
export type { Callback, Firstparty, FirstpartyEvent, Dependencies, CallSite, Properties, SourceMiddleware } from './firstparty';
export type { FirstpartyOptions } from './lib/options';
export type { EventContext, PageContext, CampaignContext } from './lib/context';
export type { EventStore, QueueRecord } from './lib/queue';
export { VERSION } from './version';
