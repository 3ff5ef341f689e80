/** The Markdown results file: the same text as stdout, sections as headings, tables fenced. */
export function markdownReport(text: string): string {
  const out: string[] = [];
  let fenced = false;
  const [title, ...rest] = text.split('\n');
  out.push(`# ${title}`, '');
  for (const line of rest) {
    const heading = line.startsWith('## ');
    const plain = heading || line.trim() === '';
    if (fenced && plain) {
      out.push('```');
      fenced = false;
    }
    if (heading || plain || /^(machine:|total |load average at end)/.test(line)) {
      out.push(line);
      continue;
    }
    if (!fenced) {
      out.push('```text');
      fenced = true;
    }
    out.push(line);
  }
  if (fenced) out.push('```');
  return `${out.join('\n')}\n`;
}
