// The storefront tenant: every path of shop.localhost.
const PRODUCTS = [
  { id: "mug", name: "Mug", price: 12 },
  { id: "tee", name: "T-shirt", price: 25 },
];

export default {
  fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/") {
      const lines = PRODUCTS.map((p) => `${p.id}: ${p.name}, ${p.price} ${env.CURRENCY}`);
      return new Response(`${env.SHOP_NAME}\n${lines.join("\n")}\n`);
    }
    const product = PRODUCTS.find((p) => url.pathname === `/products/${p.id}`);
    if (product) return Response.json({ ...product, currency: env.CURRENCY });
    return new Response("Not found\n", { status: 404 });
  },
};
