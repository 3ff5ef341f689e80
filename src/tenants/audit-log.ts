/**
 * The audit log: who (key id, tenant) did what to which target, with what result, when, from
 * where and under which request id. Append-only: the table refuses UPDATE and DELETE (triggers),
 * and each entry may also be appended as a JSON line to a file (tenants.auditFile).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StrataError } from '../core/errors.ts';
import type { Database } from '../store/database.ts';

export interface AuditEntry {
  /** Position in the log (the cursor counts by it). */
  seq: number;
  at: string;
  keyId: string | null;
  tenant: string | null;
  action: string;
  target: string | null;
  /** `ok`, `denied` or `failed`. */
  result: 'ok' | 'denied' | 'failed';
  status: number | null;
  client: string | null;
  requestId: string | null;
  details?: Record<string, unknown>;
}

export type AuditInput = Omit<AuditEntry, 'seq' | 'at'> & { at?: string };

const MIGRATIONS = [
  `CREATE TABLE audit_log (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     key_id TEXT,
     tenant TEXT,
     action TEXT NOT NULL,
     target TEXT,
     result TEXT NOT NULL,
     status INTEGER,
     client TEXT,
     request_id TEXT,
     details TEXT
   );
   CREATE INDEX audit_tenant ON audit_log (tenant, seq);
   CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
   CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`,
];

interface Row {
  seq: number;
  at: string;
  key_id: string | null;
  tenant: string | null;
  action: string;
  target: string | null;
  result: AuditEntry['result'];
  status: number | null;
  client: string | null;
  request_id: string | null;
  details: string | null;
}

const entryOf = (row: Row): AuditEntry => ({
  seq: row.seq,
  at: row.at,
  keyId: row.key_id,
  tenant: row.tenant,
  action: row.action,
  target: row.target,
  result: row.result,
  status: row.status,
  client: row.client,
  requestId: row.request_id,
  ...(row.details ? { details: JSON.parse(row.details) as Record<string, unknown> } : {}),
});

export interface AuditQuery {
  tenant?: string;
  /** ISO time or epoch ms: entries at or after it. */
  since?: number;
  limit: number;
  /** From a previous page's nextCursor. */
  cursor?: string;
}

export const MAX_AUDIT_PAGE = 1000;

export class AuditLog {
  readonly #db: Database;
  readonly #file: string | undefined;
  readonly #now: () => number;
  readonly #insert;

  constructor(db: Database, options: { file?: string; now?: () => number } = {}) {
    this.#db = db;
    this.#file = options.file || undefined;
    this.#now = options.now ?? Date.now;
    db.migrate('audit', MIGRATIONS);
    if (this.#file) mkdirSync(dirname(this.#file), { recursive: true });
    this.#insert = db.db.prepare(
      `INSERT INTO audit_log (at, key_id, tenant, action, target, result, status, client, request_id, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
    );
  }

  append(input: AuditInput): AuditEntry {
    const at = input.at ?? new Date(this.#now()).toISOString();
    const { seq } = this.#insert.get(
      at,
      input.keyId,
      input.tenant,
      input.action,
      input.target,
      input.result,
      input.status,
      input.client,
      input.requestId,
      input.details ? JSON.stringify(input.details) : null,
    ) as { seq: number };
    const entry: AuditEntry = { ...input, seq, at };
    if (this.#file) {
      try {
        appendFileSync(this.#file, `${JSON.stringify(entry)}\n`);
      } catch {
        // The database holds the entry; a full or missing disk for the copy must not fail the request.
      }
    }
    return entry;
  }

  /** Oldest first from `since`/`cursor`; `nextCursor` when more entries follow. */
  query(q: AuditQuery): { items: AuditEntry[]; nextCursor: string | null } {
    const after = q.cursor === undefined ? 0 : cursorSeq(q.cursor);
    const where = ['seq > ?'];
    const args: (string | number)[] = [after];
    if (q.tenant !== undefined) {
      where.push('tenant = ?');
      args.push(q.tenant);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(new Date(q.since).toISOString());
    }
    const rows = this.#db.db
      .prepare(`SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`)
      .all(...args, q.limit + 1) as unknown as Row[];
    const more = rows.length > q.limit;
    const items = rows.slice(0, q.limit).map(entryOf);
    const last = items[items.length - 1];
    return { items, nextCursor: more && last ? Buffer.from(`a${last.seq}`).toString('base64url') : null };
  }
}

function cursorSeq(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const seq = /^a(\d{1,15})$/.exec(text)?.[1];
  if (seq === undefined)
    throw new StrataError('invalid_request', 'cursor is not one this API gave out; start without it');
  return Number(seq);
}
