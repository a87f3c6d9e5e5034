/** Popup entry (toolbar button). */

import { mountPage } from '../lib/mount.ts';
import Popup from '../views/Popup.svelte';

mountPage(Popup, 'popup');
