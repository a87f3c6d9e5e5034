/** Full-page app entry: onboarding, unlock, home and settings. */

import { mountPage } from '../lib/mount.ts';
import App from '../views/App.svelte';

mountPage(App, 'page');
