/**
 * Mounts a page's root component, or the inert framed-page warning when the page is inside a frame.
 */
import { type Component, mount } from 'svelte';
import FramedWarning from '../components/FramedWarning.svelte';
import { isFramed } from './frame.ts';
import '../styles.css';

export function mountPage(root: Component, variant: 'popup' | 'page'): void {
  const target = document.getElementById('app');
  if (target === null) throw new Error('missing #app');
  document.body.classList.add(variant);
  if (isFramed()) {
    mount(FramedWarning, { target });
    return;
  }
  mount(root, { target });
}
