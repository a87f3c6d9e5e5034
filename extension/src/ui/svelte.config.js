// Svelte configuration for the extension pages (read by @sveltejs/vite-plugin-svelte and svelte-check).
// Defaults are what we want (Svelte 5, runes by file usage); the file exists so both tools agree.
export default {};
