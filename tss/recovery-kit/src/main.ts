/**
 * The Concord recovery page: the offline recovery tool `concord-recover` as one self-contained web
 * page (THREATS D66–D76). This module wires the user interface: backup files are read and their
 * public headers inspected here (`inspectBackup`); passphrases go straight to the Worker, which
 * opens backups, rebuilds keys and makes exports with the same library code as the CLI. Nothing is
 * stored: no storage API is used, "clear everything" terminates the Worker and empties the page.
 */
import { type BackupSummary, inspectBackup } from '@concord/tss/backup';
import { describeBackup, openedText } from '@concord/tss/recovery';
import { byId, el, revokeDownloads } from './dom.ts';
import { renderVaults, type VaultActions } from './vaults.ts';
import { errorText, WorkerClient, WorkerRefusal } from './worker-client.ts';
import './style.css';

/** The CLI's limit on a backup file's size (`readSmallFile`). */
const MAX_BACKUP_BYTES = 1 << 20;

interface Entry {
  fileId: number;
  label: string;
  text: string;
  item: HTMLLIElement;
}

let worker = new WorkerClient();
let counter = 0;
const entries = new Map<number, Entry>();

const statusBox = byId<HTMLParagraphElement>('status');
const fileList = byId<HTMLOListElement>('file-list');
const vaultsHost = byId<HTMLDivElement>('vaults');
const dialog = byId<HTMLDialogElement>('warning');

function status(text: string): void {
  statusBox.textContent = text;
}

function details(h: BackupSummary): HTMLElement {
  const row = (k: string, v: string): HTMLElement[] => [el('dt', {}, k), el('dd', {}, v)];
  return el(
    'dl',
    { class: 'facts' },
    ...row('Vault', `${h.vaultId.slice(0, 16)}…`),
    ...row('Member', `${h.partyId.slice(0, 16)}…`),
    ...row('Power', `${h.power} (points ${h.points.join(',')})`),
    ...row('Epoch', String(h.epoch)),
    ...row('Threshold', `${h.threshold} of ${h.totalPower}`),
  );
}

function stateLine(entry: Entry, valid: boolean | undefined, text: string): void {
  const p = entry.item.querySelector<HTMLElement>('.state');
  if (!p) return;
  p.className = `state ${valid === undefined ? 'locked' : valid ? 'valid' : 'invalid'}`;
  p.textContent = valid === undefined ? text : `${valid ? 'valid' : 'invalid'}: ${text}`;
}

const actions: VaultActions = {
  exportKey: (vault, req) => worker.call({ op: 'export', vault, ...req }),
  confirmReveal,
  status,
};

async function refresh(): Promise<void> {
  try {
    renderVaults(vaultsHost, await worker.call({ op: 'recover' }), actions);
  } catch (e) {
    if (e instanceof WorkerRefusal && e.code === 'CLEARED') return;
    vaultsHost.replaceChildren(el('p', { class: 'verdict bad', role: 'alert' }, errorText(e)));
  }
}

function focusNextLocked(): void {
  const next = fileList.querySelector<HTMLInputElement>('input[type=password]');
  (next ?? byId('result-title')).focus();
}

async function unlock(entry: Entry, input: HTMLInputElement, button: HTMLButtonElement): Promise<void> {
  const passphrase = input.value;
  input.value = '';
  button.disabled = true;
  status(`Unlocking ${entry.label} (scrypt, a few seconds)…`);
  try {
    const summary = await worker.call({
      op: 'open',
      fileId: entry.fileId,
      label: entry.label,
      text: entry.text,
      passphrase,
    });
    if (!entries.has(entry.fileId)) {
      // Removed while its passphrase was being checked: the Worker must not keep it.
      await worker.call({ op: 'remove', fileId: entry.fileId });
      await refresh();
      return;
    }
    input.closest('form')?.remove();
    stateLine(entry, true, openedText(summary));
    status(`${entry.label}: opened and verified`);
    await refresh();
    focusNextLocked();
  } catch (e) {
    if (e instanceof WorkerRefusal && e.code === 'CLEARED') return;
    const retry = e instanceof WorkerRefusal && e.code === 'WRONG_PASSPHRASE';
    // The CLI's words, with its retry hint when another attempt makes sense.
    stateLine(entry, false, `${errorText(e)}${retry ? ' (try again)' : ''}`);
    status(`${entry.label}: ${errorText(e)}`);
    if (retry) {
      button.disabled = false;
      input.focus();
    } else input.closest('form')?.remove();
  }
}

async function addFile(file: File): Promise<void> {
  const fileId = ++counter;
  // Numbered in the order added, like the CLI numbers its arguments: `#1 (alice.json)`.
  const label = `#${fileId} (${file.name})`;
  const item = el('li', { class: 'file', 'data-label': label });
  const entry: Entry = { fileId, label, text: '', item };
  const remove = el('button', { type: 'button', class: 'remove' }, `Remove ${label}`);
  remove.onclick = async () => {
    entries.delete(fileId);
    item.remove();
    byId('no-files').hidden = entries.size > 0;
    await worker.call({ op: 'remove', fileId }).catch(() => undefined);
    status(`${label} removed`);
    await refresh();
  };
  item.append(el('h4', {}, label), el('p', { class: 'state locked' }));
  entries.set(fileId, entry);
  fileList.append(item);
  byId('no-files').hidden = true;

  let header: BackupSummary;
  try {
    if (file.size > MAX_BACKUP_BYTES)
      throw new Error(`backup ${file.name} is larger than ${MAX_BACKUP_BYTES} bytes`);
    entry.text = await file.text();
    header = inspectBackup(entry.text);
  } catch (e) {
    stateLine(entry, false, errorText(e));
    item.append(remove);
    return;
  }
  item.insertBefore(details(header), item.querySelector('.state'));
  stateLine(entry, undefined, 'locked: enter this backup’s passphrase');
  const input = el('input', { id: `pass-${fileId}`, type: 'password', autocomplete: 'off', required: true });
  const button = el('button', { type: 'submit' }, 'Unlock');
  const form = el(
    'form',
    { class: 'unlock' },
    el('label', { for: input.id }, `Passphrase for backup ${label} [${describeBackup(header)}]`),
    input,
    button,
  );
  form.onsubmit = (ev) => {
    ev.preventDefault();
    void unlock(entry, input, button);
  };
  item.append(form, remove);
}

async function addFiles(files: FileList | null): Promise<void> {
  for (const f of files ?? []) await addFile(f);
  status(`${entries.size} backup file${entries.size === 1 ? '' : 's'} added`);
  fileList.querySelector<HTMLInputElement>('input[type=password]')?.focus();
}

function confirmReveal(): Promise<boolean> {
  return new Promise((resolve) => {
    const accept = byId<HTMLButtonElement>('warning-accept');
    const cancel = byId<HTMLButtonElement>('warning-cancel');
    const done = (ok: boolean): void => {
      accept.onclick = null;
      cancel.onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(ok);
    };
    accept.onclick = () => done(true);
    cancel.onclick = () => done(false);
    dialog.onclose = () => done(false);
    dialog.showModal();
    cancel.focus();
  });
}

function clearEverything(): void {
  worker.terminate();
  worker = new WorkerClient();
  entries.clear();
  counter = 0;
  fileList.replaceChildren();
  byId('no-files').hidden = false;
  renderVaults(vaultsHost, [], actions);
  revokeDownloads();
  for (const id of ['files', 'verify-file', 'verify-pass']) byId<HTMLInputElement>(id).value = '';
  byId('verify-result').replaceChildren();
  if (dialog.open) dialog.close();
  status('Everything was cleared: backups, passphrases, rebuilt keys and outputs are gone from this page.');
  byId('files').focus();
}

async function verify(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const fileInput = byId<HTMLInputElement>('verify-file');
  const passInput = byId<HTMLInputElement>('verify-pass');
  const out = byId('verify-result');
  const file = fileInput.files?.[0];
  const passphrase = passInput.value;
  passInput.value = '';
  if (!file) {
    out.replaceChildren(el('p', { class: 'verdict bad' }, 'Choose a backup file first.'));
    return;
  }
  out.replaceChildren(el('p', {}, `Checking ${file.name} (scrypt, a few seconds)…`));
  try {
    if (file.size > MAX_BACKUP_BYTES)
      throw new Error(`backup ${file.name} is larger than ${MAX_BACKUP_BYTES} bytes`);
    const summary = await worker.call({ op: 'verify', text: await file.text(), passphrase });
    out.replaceChildren(
      el('p', { class: 'verdict good' }, `valid: ${file.name} ${openedText(summary)}; no key was rebuilt`),
      details(summary),
    );
  } catch (e) {
    out.replaceChildren(el('p', { class: 'verdict bad' }, `invalid: ${file.name}: ${errorText(e)}`));
  }
}

function showMode(): void {
  const verifyMode = byId<HTMLInputElement>('mode-verify').checked;
  byId('recover-section').hidden = verifyMode;
  byId('verify-section').hidden = !verifyMode;
}

function init(): void {
  byId<HTMLInputElement>('files').onchange = (ev) => {
    const input = ev.target as HTMLInputElement;
    void addFiles(input.files).then(() => {
      input.value = '';
    });
  };
  const zone = byId('drop-zone');
  zone.ondragover = (ev) => {
    ev.preventDefault();
    zone.classList.add('over');
  };
  zone.ondragleave = () => zone.classList.remove('over');
  zone.ondrop = (ev) => {
    ev.preventDefault();
    zone.classList.remove('over');
    void addFiles(ev.dataTransfer?.files ?? null);
  };
  byId<HTMLFormElement>('verify-form').onsubmit = (ev) => void verify(ev);
  byId('mode-recover').onchange = showMode;
  byId('mode-verify').onchange = showMode;
  byId('clear').onclick = clearEverything;
  byId('online-warning').hidden = !navigator.onLine;
  renderVaults(vaultsHost, [], actions);
  showMode();
  document.documentElement.dataset.ready = 'true';
}

init();
