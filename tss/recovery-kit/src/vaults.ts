/**
 * The result section: one panel per vault the opened backups describe, showing the signing power
 * collected against the threshold and the CLI's own report lines (`vaultReport`), refusals included.
 * The address, group key and every private-key export stay hidden until the user asks and confirms
 * the warning dialog; private-key material is shown only when revealed on purpose, or downloaded.
 */
import { download, el } from './dom.ts';
import type { ExportRequest, ExportResult, VaultView } from './protocol.ts';
import { errorText } from './worker-client.ts';

export interface VaultActions {
  exportKey(vault: number, req: ExportRequest): Promise<ExportResult>;
  /** Ask for the warning dialog; resolves true when the user confirms. */
  confirmReveal(): Promise<boolean>;
  status(text: string): void;
}

const shortId = (hex: string): string => `${hex.slice(0, 16)}…`;

function powerLine(v: VaultView, idx: number): HTMLElement[] {
  // The newest epoch is the one recovery prefers; a successful rebuild names its epoch in the report.
  const e = v.epochs[0];
  if (!e) return [];
  const id = `vault-${idx}-power`;
  return [
    el(
      'p',
      { id, class: 'power' },
      `Signing power collected (epoch ${e.epoch}): ${e.power} of threshold ${e.threshold}`,
      e.missing > 0 ? ` — ${e.missing} missing` : '',
    ),
    el('meter', {
      min: '0',
      max: String(e.threshold),
      value: String(Math.min(e.power, e.threshold)),
      'aria-labelledby': id,
    }),
  ];
}

function secretBlock(label: string): { box: HTMLElement; show(text: string): void } {
  const out = el('pre', { class: 'secret', 'aria-label': label, tabindex: '0' });
  const box = el('div', { class: 'secret-box', hidden: true }, out);
  return {
    box,
    show(text: string) {
      out.textContent = text.trim();
      box.hidden = false;
      out.focus();
    },
  };
}

function outputsPanel(v: VaultView, idx: number, actions: VaultActions): HTMLElement {
  const pre = `vault-${idx}`;
  const address = v.address ?? '';
  const run = async (what: string, req: ExportRequest, then: (r: ExportResult) => void): Promise<void> => {
    actions.status(`${what}…`);
    try {
      then(await actions.exportKey(idx, req));
      actions.status(`${what}: done`);
    } catch (e) {
      actions.status(`${what}: ${errorText(e)}`);
    }
  };

  const hex = secretBlock('Private key (hex)');
  const hexShow = el('button', { type: 'button' }, 'Show private key (hex)');
  const hexSave = el('button', { type: 'button' }, 'Download private key (hex)');
  hexShow.onclick = () =>
    run('Private key (hex)', { kind: 'hex' }, (r) => r.kind === 'hex' && hex.show(r.text));
  hexSave.onclick = () =>
    run('Private key (hex)', { kind: 'hex' }, (r) => {
      if (r.kind === 'hex') download(`concord-private-key-${address}.txt`, r.text);
    });

  const pw1 = el('input', {
    id: `${pre}-ks1`,
    type: 'password',
    autocomplete: 'new-password',
    required: true,
  });
  const pw2 = el('input', {
    id: `${pre}-ks2`,
    type: 'password',
    autocomplete: 'new-password',
    required: true,
  });
  const ksMsg = el('p', { id: `${pre}-ks-msg`, class: 'note', role: 'status' });
  const ksForm = el(
    'form',
    { class: 'keystore', 'aria-describedby': `${pre}-ks-msg` },
    el('label', { for: pw1.id }, 'New keystore password'),
    pw1,
    el('label', { for: pw2.id }, 'Repeat the keystore password'),
    pw2,
    el('button', { type: 'submit' }, 'Download keystore V3'),
    ksMsg,
  );
  ksForm.onsubmit = (ev) => {
    ev.preventDefault();
    const a = pw1.value;
    const b = pw2.value;
    pw1.value = '';
    pw2.value = '';
    // The CLI's wording for the same mistake.
    if (a !== b) {
      ksMsg.textContent = 'the keystore passwords differ';
      return;
    }
    ksMsg.textContent = 'Encrypting (scrypt n = 2^18, a few seconds)…';
    void run('Keystore V3', { kind: 'keystore', password: a }, (r) => {
      if (r.kind !== 'keystore') return;
      download(`concord-keystore-${r.address}.json`, r.text, 'application/json');
      ksMsg.textContent = `Keystore V3 downloaded (address ${r.address}).`;
    }).then(() => {
      if (ksMsg.textContent?.startsWith('Encrypting')) ksMsg.textContent = '';
    });
  };

  const net = el(
    'select',
    { id: `${pre}-net` },
    el('option', { value: 'mainnet' }, 'Bitcoin mainnet'),
    el('option', { value: 'testnet' }, 'Bitcoin testnet'),
  );
  const wif = secretBlock('Bitcoin private key (WIF)');
  const btcAddr = el('p', { class: 'note', role: 'status' });
  const network = (): 'mainnet' | 'testnet' => (net.value === 'testnet' ? 'testnet' : 'mainnet');
  const wifShow = el('button', { type: 'button' }, 'Show WIF');
  const wifSave = el('button', { type: 'button' }, 'Download WIF');
  const wifDone = (r: ExportResult, save: boolean): void => {
    if (r.kind !== 'wif') return;
    btcAddr.textContent = `Bitcoin ${r.network} P2WPKH address: ${r.address}`;
    if (save) download(`concord-wif-${r.network}-${r.address}.txt`, r.wif);
    else wif.show(r.wif);
  };
  wifShow.onclick = () => run('WIF', { kind: 'wif', network: network() }, (r) => wifDone(r, false));
  wifSave.onclick = () => run('WIF', { kind: 'wif', network: network() }, (r) => wifDone(r, true));

  return el(
    'div',
    { class: 'outputs', id: `${pre}-outputs` },
    el('h5', { id: `${pre}-outputs-title`, tabindex: '-1' }, 'Outputs'),
    el(
      'dl',
      {},
      el('dt', {}, 'Ethereum address (EIP-55)'),
      el('dd', { class: 'address' }, address),
      el('dt', {}, 'Group public key'),
      el('dd', { class: 'group-key' }, v.groupPublicKey),
    ),
    el('h5', {}, 'Private key as hex'),
    el('p', { class: 'warn' }, 'Whoever sees or copies this key controls the funds.'),
    el('div', { class: 'row' }, hexShow, hexSave),
    hex.box,
    el('h5', {}, 'Ethereum keystore V3'),
    el(
      'p',
      { class: 'note' },
      'Encrypted with a new password you choose; MetaMask, geth and ethers import it.',
    ),
    ksForm,
    el('h5', {}, 'Bitcoin WIF (compressed) and P2WPKH address'),
    el('label', { for: net.id }, 'Network'),
    net,
    el('div', { class: 'row' }, wifShow, wifSave),
    wif.box,
    btcAddr,
  );
}

function vaultPanel(v: VaultView, idx: number, actions: VaultActions): HTMLElement {
  const title = `vault-${idx}-title`;
  const failed = v.lines.find((l) => l.kind === 'failed');
  const shown = v.lines.filter((l) => l.kind === 'epoch' || l.kind === 'warning' || l.kind === 'ignored');
  const panel = el(
    'article',
    { class: `vault ${v.ok ? 'ok' : 'refused'}`, 'aria-labelledby': title, 'data-vault': v.vaultId },
    el('h4', { id: title }, `Vault ${shortId(v.vaultId)}`),
    ...powerLine(v, idx),
    failed
      ? el('p', { class: 'verdict bad', role: 'alert' }, failed.text)
      : el(
          'p',
          { class: 'verdict good' },
          v.lines
            .filter((l) => l.kind === 'recovered' || l.kind === 'matches')
            .map((l) => l.text)
            .join('; '),
        ),
    shown.length > 0 ? el('ul', { class: 'report' }, ...shown.map((l) => el('li', {}, l.text))) : null,
  );
  if (v.ok) {
    const reveal = el('button', { type: 'button', class: 'reveal' }, 'Show outputs…');
    reveal.onclick = async () => {
      if (!(await actions.confirmReveal())) return;
      const outputs = outputsPanel(v, idx, actions);
      reveal.replaceWith(outputs);
      outputs.querySelector<HTMLElement>('h5')?.focus();
    };
    panel.append(reveal);
  }
  return panel;
}

export function renderVaults(host: HTMLElement, views: readonly VaultView[], actions: VaultActions): void {
  host.replaceChildren(
    ...(views.length === 0
      ? [el('p', {}, 'Nothing to rebuild yet: unlock backups above.')]
      : views.map((v, i) => vaultPanel(v, i, actions))),
  );
}
