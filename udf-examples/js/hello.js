// Greets whoever the input names: {"name":"Ada"} -> {"greeting":"Hello, Ada!"}
export default function (input, ctx) {
  const name = typeof input?.name === 'string' && input.name.length > 0 ? input.name : 'world';
  ctx.log(`greeting ${name}`);
  return { greeting: `Hello, ${name}!` };
}
