/**
 * Lets `tsc` accept `.svelte` imports from TypeScript entry files. Component props are checked by
 * svelte-check (`npx svelte-check --workspace extension/src/ui`), not by tsc.
 */
declare module '*.svelte' {
  import type { Component } from 'svelte';

  const component: Component<Record<string, unknown>>;
  export default component;
}
