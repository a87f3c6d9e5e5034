/** Entry of the isolated-world content script: the relay (content.ts) over the real browser APIs. */
import browser from 'webextension-polyfill';
import { type PortLike, startContentRelay, type WindowLike } from './content.ts';

startContentRelay({
  window: window as unknown as WindowLike,
  connect: (name) => browser.runtime.connect({ name }) as unknown as PortLike,
});
