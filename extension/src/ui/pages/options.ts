/** Options page entry (chrome://extensions → Details → Extension options). */

import { mountPage } from '../lib/mount.ts';
import Options from '../views/Options.svelte';

mountPage(Options, 'page');
