/**
 * Frame check (THREATS 49). The CSP's `frame-ancestors 'none'` and the absence of web-accessible
 * HTML already stop web pages from framing us; this is the page-side belt to those braces: a framed
 * page renders only an inert warning and the API client refuses to send.
 */
export function isFramed(): boolean {
  try {
    return window.top !== window;
  } catch {
    // Cross-origin access to `top` can throw; that itself means we are framed.
    return true;
  }
}
