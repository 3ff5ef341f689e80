// Reshapes a list of orders: totals per customer, sorted by amount, plus a grand total.
// {"orders":[{"customer":"ada","amount":30},{"customer":"bob","amount":5},{"customer":"ada","amount":12}]}
// -> {"customers":[{"customer":"ada","orders":2,"total":42},{"customer":"bob","orders":1,"total":5}],"total":47}
export default function (input) {
  const orders = Array.isArray(input?.orders) ? input.orders : [];
  const byCustomer = new Map();
  for (const { customer, amount } of orders) {
    const entry = byCustomer.get(customer) ?? { customer, orders: 0, total: 0 };
    entry.orders += 1;
    entry.total += Number(amount) || 0;
    byCustomer.set(customer, entry);
  }
  const customers = [...byCustomer.values()].sort((a, b) => b.total - a.total || a.customer.localeCompare(b.customer));
  return { customers, total: customers.reduce((sum, c) => sum + c.total, 0) };
}
