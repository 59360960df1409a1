// Tenant vs node: a 256 KiB gzip body that inflates to 256 MiB of zeros,
// read whole. DecompressionStream used to inflate each chunk at once outside
// the V8 heap; now it inflates 64 KiB slices as they are read, each counted
// against the worker's memory: reading it all into one buffer ends the
// request at the memory limit.
export default {
  async fetch(request, env) {
    const response = await fetch(env.ORIGIN + "bomb");
    const inflated = response.body.pipeThrough(new DecompressionStream("gzip"));
    const whole = await new Response(inflated).arrayBuffer();
    return new Response(`read ${whole.byteLength} bytes`);
  },
};
