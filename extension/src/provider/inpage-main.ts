/** Entry of the MAIN-world script: installs the provider on this page (inpage.ts). */
import { installProvider, type PageWindow } from './inpage.ts';

installProvider(window as unknown as PageWindow);
