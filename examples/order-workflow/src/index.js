// An order as a Cloudflare Workflow: create it over HTTP, charge it against
// a flaky upstream (retried with backoff), wait for the "shipped" event that
// another route sends, sleep, then record it in KV. The same code runs on
// Cloudflare Workers, `edge dev` and `edge serve`.
import { WorkflowEntrypoint } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";

export class OrderFlow extends WorkflowEntrypoint {
  async run(event, step) {
    const { item, amount } = event.payload;
    const orderId = event.instanceId;

    // Retried on failure: 503s from the upstream are thrown and tried again.
    const charge = await step.do(
      "charge",
      { retries: { limit: 5, delay: Number(this.env.RETRY_DELAY_MS), backoff: "exponential" }, timeout: "30 seconds" },
      async (ctx) => {
        const response = await this.env.UPSTREAM.fetch("https://upstream/upstream/charge", {
          method: "POST",
          body: JSON.stringify({ orderId, amount, attempt: ctx.attempt }),
        });
        if (response.status === 402) throw new NonRetryableError("payment declined");
        if (!response.ok) throw new Error(`upstream answered ${response.status}`);
        return await response.json();
      },
    );

    // Sleeps (holding nothing) until POST /orders/<id>/shipped sends the event.
    const shipped = await step.waitForEvent("shipped", { type: "shipped", timeout: "1 hour" });

    await step.sleep("cool-off", this.env.COOL_OFF);

    return await step.do("record", async () => {
      const record = { orderId, item, amount, chargeId: charge.chargeId, tracking: shipped.payload.tracking };
      await this.env.ORDERS.put(`order:${orderId}`, JSON.stringify(record));
      return record;
    });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const parts = url.pathname.split("/").filter(Boolean);

    // The flaky payment provider: the first two attempts of an order fail.
    if (parts[0] === "upstream" && parts[1] === "charge" && request.method === "POST") {
      const { orderId, amount, attempt } = await request.json();
      if (amount > 1000) return new Response("declined", { status: 402 });
      if (attempt < 3) return new Response("try again", { status: 503 });
      return Response.json({ chargeId: `ch_${orderId}` });
    }

    // POST /orders {"item": "...", "amount": 12} -> {"id": "..."}
    if (parts[0] === "orders" && parts.length === 1 && request.method === "POST") {
      const { item, amount, id } = await request.json();
      const instance = await env.ORDER_FLOW.create({ id, params: { item, amount } });
      return Response.json({ id: instance.id }, { status: 201 });
    }
    if (parts[0] === "orders" && parts.length >= 2) {
      let instance;
      try {
        instance = await env.ORDER_FLOW.get(parts[1]);
      } catch (error) {
        return Response.json({ error: error.message }, { status: 404 });
      }
      // POST /orders/<id>/shipped {"tracking": "..."}
      if (parts[2] === "shipped" && request.method === "POST") {
        const { tracking } = await request.json();
        await instance.sendEvent({ type: "shipped", payload: { tracking } });
        return Response.json({ sent: true });
      }
      // GET /orders/<id>: the instance's status, and the KV record once written.
      const status = await instance.status();
      const recorded = await env.ORDERS.get(`order:${parts[1]}`, "json");
      return Response.json({ ...status, recorded });
    }
    return new Response("POST /orders, POST /orders/<id>/shipped, GET /orders/<id>\n", { status: 404 });
  },
};
