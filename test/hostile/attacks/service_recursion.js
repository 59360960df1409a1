// Service bindings are subrequests (issue 10 part 5). A worker bound to
// itself ("SELF") recurses without end, fans out past its subrequest limit
// (10 here) and calls from a timer after its response went out: the
// recursion stops at 32 invocations of the top-level request, the fan-out
// at the limit, the late call is never made (its timer ended with its
// request) or refused, and the node stays up.

function report(lines) {
  return new Response("done\n" + lines.join("\n") + "\n");
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.searchParams.has("leaf")) return new Response("leaf");
    const depth = Number(url.searchParams.get("depth") ?? "0");
    if (depth > 0) {
      try {
        const answer = await env.SELF.fetch(`http://self/?depth=${depth + 1}`);
        return new Response(await answer.text());
      } catch (error) {
        return new Response(`stopped at ${depth}: ${error.message}`);
      }
    }
    if (url.pathname === "/fanout") {
      let made = 0;
      let message = "";
      try {
        for (let i = 0; i < 1000; i++) {
          await (await env.SELF.fetch("http://self/?leaf=1")).text();
          made++;
        }
      } catch (error) {
        message = error.message;
      }
      return report([made === 10 && message.startsWith("Too many subrequests.")
        ? "fan-out stopped at the subrequest limit"
        : `UNEXPECTED fan-out: ${made} calls, then ${message}`]);
    }
    // What the call from the timer got goes to the worker's own KV (the
    // next request may be served by another thread's isolate).
    if (url.pathname === "/late") {
      await env.STORE.delete("late");
      setTimeout(() => {
        env.SELF.fetch("http://self/?leaf=1").then(
          (answer) => env.STORE.put("late", `went through (${answer.status})`),
          (error) => env.STORE.put("late", `refused: ${error.message}`),
        );
      }, 0);
      return report(["timer set"]);
    }
    // The timer belonged to /late's invocation: it is cleared when that
    // invocation ends, so the call is never made (had it run, it would be
    // refused as coming from an ended invocation).
    if (url.pathname === "/late-result") {
      let late = null;
      for (let i = 0; i < 30 && late === null; i++) {
        late = await env.STORE.get("late");
        if (late === null) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const settled = late === null ? "late timer cleared"
        : late.includes("the invocation that made this call has ended") ? "late call refused"
        : `UNEXPECTED late call: ${late}`;
      return report([settled]);
    }
    // Recursion: invocation 1 is this one, the call at depth 31 would be
    // the 33rd.
    const text = await (await env.SELF.fetch("http://self/?depth=1")).text();
    const lines = [text.startsWith("stopped at 31: Subrequest depth limit exceeded.")
      ? "recursion stopped at 32 invocations"
      : `UNEXPECTED recursion: ${text}`];
    // The chain is spent: this request can reach no more workers.
    try {
      await env.SELF.fetch("http://self/?leaf=1");
      lines.push("UNEXPECTED: a call after the chain was spent went through");
    } catch (error) {
      lines.push(error.message.startsWith("Subrequest depth limit exceeded.")
        ? "chain spent" : `UNEXPECTED: ${error.message}`);
    }
    return report(lines);
  },
};
