/**
 * Static policy for the MV3 manifest (THREATS 47, 48): minimal permissions, no
 * `externally_connectable`, no HTML reachable from the web, and an extension-page CSP that keeps
 * scripts to the package and forbids framing. Used by the build (which fails on any finding) and by
 * a unit test, so the rule lives in one place.
 */

/**
 * Permissions the extension may request. Anything else must be argued for here first.
 * - `offscreen`: one offscreen document (reason WORKERS) hosting the Worker that runs ceremony crypto
 *   off the service worker (background/services/crypto-host.ts). It grants no host or tab access, and
 *   the document only answers the service worker.
 */
/* - `notifications`: a desktop notification when a request needs this device's approval (approvals
 *   are asynchronous; without it a teammate waits until someone happens to open the popup). It
 *   grants no data access.
 */
export const ALLOWED_PERMISSIONS: readonly string[] = ['storage', 'alarms', 'offscreen', 'notifications'];

/** Directives the extension-page CSP must contain, verbatim. */
const REQUIRED_CSP_DIRECTIVES: readonly string[] = [
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
];

/** The subset of the manifest this lint reads; unknown keys pass through. */
export interface ManifestJson {
  manifest_version?: unknown;
  permissions?: unknown;
  host_permissions?: unknown;
  optional_permissions?: unknown;
  externally_connectable?: unknown;
  web_accessible_resources?: unknown;
  content_security_policy?: unknown;
  background?: unknown;
  content_scripts?: unknown;
  [key: string]: unknown;
}

/**
 * Where the dApp provider's content scripts may run (THREATS 48): https pages, and plain http only
 * on this machine (a dApp under development). Never file:, http: elsewhere, or frames.
 */
export const CONTENT_SCRIPT_MATCHES: readonly string[] = [
  'https://*/*',
  'http://localhost/*',
  'http://127.0.0.1/*',
];
/** The only script allowed in the page's own (MAIN) world: the provider, which holds no secret. */
export const MAIN_WORLD_SCRIPTS: readonly string[] = ['inpage.js'];

function lintContentScripts(cs: unknown, findings: string[]): void {
  if (cs === undefined) return;
  if (!Array.isArray(cs)) {
    findings.push('content_scripts must be an array');
    return;
  }
  for (const [i, entry] of (cs as Record<string, unknown>[]).entries()) {
    const at = `content_scripts[${i}]`;
    const matches = Array.isArray(entry.matches) ? (entry.matches as unknown[]) : [];
    if (matches.length === 0) findings.push(`${at} must list its matches`);
    for (const m of matches) {
      if (typeof m !== 'string' || !CONTENT_SCRIPT_MATCHES.includes(m)) {
        findings.push(`${at} may only match https pages and http://localhost / 127.0.0.1: ${String(m)}`);
      }
    }
    if (entry.run_at !== 'document_start') findings.push(`${at} must run at document_start`);
    if (entry.all_frames === true) findings.push(`${at} must not run in frames`);
    if (entry.match_about_blank === true || entry.match_origin_as_fallback === true) {
      findings.push(`${at} must not run in about:blank or opaque-origin frames`);
    }
    if (entry.exclude_matches !== undefined || entry.include_globs !== undefined) {
      findings.push(`${at}: keep the match list the whole rule (no globs or exclusions)`);
    }
    if (entry.css !== undefined) findings.push(`${at} must not inject CSS`);
    const js = Array.isArray(entry.js) ? (entry.js as unknown[]) : [];
    if (js.length === 0 || js.some((f) => typeof f !== 'string' || !f.endsWith('.js'))) {
      findings.push(`${at} must name its .js files`);
    }
    if (entry.world !== undefined && entry.world !== 'ISOLATED') {
      if (entry.world !== 'MAIN') findings.push(`${at}: unknown world ${String(entry.world)}`);
      else if (js.some((f) => !MAIN_WORLD_SCRIPTS.includes(String(f)))) {
        findings.push(`${at}: only ${MAIN_WORLD_SCRIPTS.join(', ')} may run in the page's world`);
      }
    }
  }
}

/** Returns human-readable findings; an empty array means the manifest passes. */
export function lintManifest(m: ManifestJson): string[] {
  const findings: string[] = [];
  if (m.manifest_version !== 3) findings.push('manifest_version must be 3');
  if (m.externally_connectable !== undefined) {
    findings.push('externally_connectable must be absent (other extensions and pages may not message us)');
  }
  const perms = Array.isArray(m.permissions) ? (m.permissions as unknown[]) : [];
  for (const p of perms) {
    if (typeof p !== 'string' || !ALLOWED_PERMISSIONS.includes(p)) {
      findings.push(`permission not allowed: ${String(p)}`);
    }
  }
  if (m.host_permissions !== undefined) findings.push('host_permissions are not needed yet');
  if (m.optional_permissions !== undefined) findings.push('optional_permissions are not needed yet');

  const war = Array.isArray(m.web_accessible_resources) ? (m.web_accessible_resources as unknown[]) : [];
  for (const entry of war) {
    const resources = (entry as { resources?: unknown }).resources;
    for (const r of Array.isArray(resources) ? resources : []) {
      if (typeof r !== 'string' || /\.html?$/i.test(r) || r.includes('*')) {
        findings.push(`web_accessible_resources must not expose HTML or wildcards: ${String(r)}`);
      }
    }
  }

  const csp = (m.content_security_policy as { extension_pages?: unknown } | undefined)?.extension_pages;
  if (typeof csp !== 'string') {
    findings.push('content_security_policy.extension_pages must be set');
  } else {
    const directives = csp.split(';').map((d) => d.trim().replace(/\s+/g, ' '));
    for (const required of REQUIRED_CSP_DIRECTIVES) {
      if (!directives.includes(required)) findings.push(`CSP must contain "${required}"`);
    }
    // Port wildcards (`http://127.0.0.1:*`) are fine; host wildcards and 'unsafe-*' are not.
    for (const token of csp.split(/[\s;]+/)) {
      if (token.includes('unsafe-') || token.startsWith('*') || token.includes('://*')) {
        findings.push(`CSP source not allowed: ${token}`);
      }
    }
  }

  lintContentScripts(m.content_scripts, findings);

  const bg = m.background as { service_worker?: unknown; type?: unknown } | undefined;
  if (typeof bg?.service_worker !== 'string' || bg.type !== 'module') {
    findings.push('background must be a module service worker');
  }
  return findings;
}

/** Every packaged file the manifest points at, so the build can check each one was emitted. */
export function referencedFiles(m: ManifestJson): string[] {
  const files: string[] = [];
  const bg = m.background as { service_worker?: unknown } | undefined;
  if (typeof bg?.service_worker === 'string') files.push(bg.service_worker);
  const action = m.action as { default_popup?: unknown } | undefined;
  if (typeof action?.default_popup === 'string') files.push(action.default_popup);
  const options = m.options_ui as { page?: unknown } | undefined;
  if (typeof options?.page === 'string') files.push(options.page);
  const cs = Array.isArray(m.content_scripts) ? (m.content_scripts as { js?: unknown }[]) : [];
  for (const entry of cs) {
    for (const f of Array.isArray(entry.js) ? entry.js : []) {
      if (typeof f === 'string' && !files.includes(f)) files.push(f);
    }
  }
  // Icons must exist too: a notification or toolbar icon that is missing fails at run time.
  const icons = m.icons as Record<string, unknown> | undefined;
  for (const f of Object.values(icons ?? {})) if (typeof f === 'string' && !files.includes(f)) files.push(f);
  return files;
}
