/** Vite's inline-worker import (`?worker&inline`): a constructor for a Worker started from a blob URL. */
declare module '*?worker&inline' {
  const WorkerFactory: new (options?: { name?: string }) => Worker;
  export default WorkerFactory;
}
