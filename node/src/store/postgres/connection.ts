/**
 * How the PostgreSQL metadata store talks to the server: named parameters, row shapes, error
 * translation, and the two kinds of session a store method runs on — the pool (each call its own
 * statement, or its own transaction when it has several) and one pooled client inside a
 * transaction (several statements made atomic by a savepoint).
 *
 * Rows come back in the shapes the SQLite row mappers read (`../sqlite/*.ts`), so both stores
 * map records with the same code: `bigint` and `numeric` columns as numbers (Unix seconds and
 * byte counts, far below 2^53), `boolean` columns as 0/1.
 *
 * @module
 */
import pg from 'pg'
import { RequestError } from '#protocol'
import { crashPoint } from '../../operations/crash_points.ts'
import type { Params, Row } from '../sqlite/rows.ts'

// Type OIDs (pg_type.h) of the columns read as numbers.
const INT8_OID = 20
const NUMERIC_OID = 1700

/** The server's answers, typed for this store only (the `pg` defaults stay untouched for others). */
export const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8_OID || oid === NUMERIC_OID) return Number
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown
  },
}

interface CompiledSql {
  text: string
  names: string[]
}

const compiled = new Map<string, CompiledSql>()

/** `:name` parameters → `$n` (a `::type` cast is not a parameter). */
function compile(sql: string): CompiledSql {
  let entry = compiled.get(sql)
  if (entry === undefined) {
    const names: string[] = []
    const text = sql.replace(/(?<![:\w]):([a-z_][a-z0-9_]*)/g, (_, name: string) => {
      let index = names.indexOf(name)
      if (index < 0) index = names.push(name) - 1
      return `$${index + 1}`
    })
    entry = { text, names }
    compiled.set(sql, entry)
  }
  return entry
}

export type Bind = Params | Record<string, readonly string[] | readonly number[] | string | number | null>

function values(sql: CompiledSql, params: Bind): unknown[] {
  return sql.names.map((name) => {
    const value = (params as Record<string, unknown>)[name]
    return value === undefined ? null : value
  })
}

function shape(row: Record<string, unknown>): Row {
  for (const key of Object.keys(row)) {
    const value = row[key]
    if (typeof value === 'boolean') row[key] = value ? 1 : 0
  }
  return row as Row
}

/** Where a store method's statements run. */
export interface Session {
  rows(sql: string, params?: Bind): Promise<Row[]>
  /** Runs a write; returns the number of rows it changed. */
  run(sql: string, params?: Bind): Promise<number>
  /** Runs `work` atomically: a transaction of its own, or a savepoint inside the current one. */
  atomic<T>(work: (session: Session) => Promise<T>): Promise<T>
}

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>

async function query(on: Queryable, sql: string, params: Bind): Promise<pg.QueryResult> {
  const statement = compile(sql)
  try {
    return await on.query({ text: statement.text, values: values(statement, params) })
  } catch (err) {
    throw translateError(err)
  }
}

/** Statements on the pool: each its own implicit transaction; `atomic` takes a client for BEGIN…COMMIT. */
export class PoolSession implements Session {
  readonly #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  async rows(sql: string, params: Bind = {}): Promise<Row[]> {
    return (await query(this.#pool, sql, params)).rows.map(shape)
  }

  async run(sql: string, params: Bind = {}): Promise<number> {
    return (await query(this.#pool, sql, params)).rowCount ?? 0
  }

  atomic<T>(work: (session: Session) => Promise<T>): Promise<T> {
    // The method's statements run directly: any failure ends its transaction anyway.
    return inTransaction(this.#pool, (client) => work(new SavepointSession(client, 'sp')))
  }
}

/**
 * Statements on one client inside an open transaction; `atomic` is a savepoint. A statement that
 * fails aborts a PostgreSQL transaction, while in SQLite the transaction goes on without it: so
 * each call runs in a savepoint of its own, and a caller that catches its error can go on, as
 * with SQLite. Calls made at once take turns, so that savepoints nest as they were opened.
 */
export class ClientSession implements Session {
  readonly #client: pg.PoolClient
  #tail: Promise<unknown> = Promise.resolve()

  constructor(client: pg.PoolClient) {
    this.#client = client
  }

  rows(sql: string, params: Bind = {}): Promise<Row[]> {
    return this.atomic((s) => s.rows(sql, params))
  }

  run(sql: string, params: Bind = {}): Promise<number> {
    return this.atomic((s) => s.run(sql, params))
  }

  atomic<T>(work: (session: Session) => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => new SavepointSession(this.#client, 'sp').atomic(work))
    this.#tail = result.catch(() => undefined)
    return result
  }
}

/** Inside a savepoint: statements run directly; `atomic` nests another savepoint. */
class SavepointSession implements Session {
  readonly #client: pg.PoolClient
  readonly #name: string
  #nested = 0

  constructor(client: pg.PoolClient, name: string) {
    this.#client = client
    this.#name = name
  }

  async rows(sql: string, params: Bind = {}): Promise<Row[]> {
    return (await query(this.#client, sql, params)).rows.map(shape)
  }

  async run(sql: string, params: Bind = {}): Promise<number> {
    return (await query(this.#client, sql, params)).rowCount ?? 0
  }

  async atomic<T>(work: (session: Session) => Promise<T>): Promise<T> {
    const name = `${this.#name}_${++this.#nested}`
    await this.#client.query(`SAVEPOINT ${name}`)
    let result: T
    try {
      result = await work(new SavepointSession(this.#client, name))
    } catch (err) {
      await this.#client.query(`ROLLBACK TO SAVEPOINT ${name}`)
      await this.#client.query(`RELEASE SAVEPOINT ${name}`)
      throw err
    }
    await this.#client.query(`RELEASE SAVEPOINT ${name}`)
    return result
  }
}

/**
 * Runs `work` on one pooled client between BEGIN and COMMIT (ROLLBACK when it throws). READ
 * COMMITTED, PostgreSQL's default: the operations that read then write take the locks they need
 * (see the store's module comment) instead of a stricter isolation level that would fail them
 * with serialization errors to retry.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, options: { crashPoints?: boolean } = {}): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    let result: T
    try {
      result = await work(client)
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
      })
      throw err
    }
    // The crash tests' points around the commit of a `transaction(work)`, as in the SQLite store.
    if (options.crashPoints === true) crashPoint('store.before-commit')
    try {
      await client.query('COMMIT')
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err))
      throw translateError(err)
    }
    if (options.crashPoints === true) crashPoint('store.after-commit')
    return result
  } finally {
    // A client whose transaction state is unknown is not handed out again.
    client.release(broken)
  }
}

/** PostgreSQL error codes (SQLSTATE) that are the caller's doing, as the SQLite store reports them. */
function translateError(err: unknown): unknown {
  if (!(err instanceof pg.DatabaseError) || err.code === undefined) return err
  switch (err.code) {
    case '23505': // unique_violation
      return new RequestError('CW_ERR_CONFLICT', 'record already exists', { cause: err })
    case '23503': // foreign_key_violation
      return new RequestError('CW_ERR_CONFLICT', 'record refers to a missing record', { cause: err })
    case '23502': // not_null_violation
    case '23514': // check_violation
      return new TypeError(`invalid record: ${err.message}`, { cause: err })
    default:
      // Class 22, data exceptions: a value of the wrong type or out of range.
      return err.code.startsWith('22') ? new TypeError(`invalid record: ${err.message}`, { cause: err }) : err
  }
}
