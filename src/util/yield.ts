/** Lets the event loop run between iterations, so timers and reporters stay alive during long loops (attacks, occlusion, training). */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
