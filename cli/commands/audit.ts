/**
 * `caseway audit verify` and `caseway audit export`: check and copy a node's audit trail
 * (SPEC.md §18) straight from its database, read-only, also while the node runs (SQLite's WAL
 * lets a reader in next to the writer; PostgreSQL reads beside its replicas).
 *
 * `verify` prints `ok <caseId> <n> entries` per intact chain and `broken <caseId> <seq>
 * <reason>` naming the first bad entry of a broken one; it exits 1 when any chain is broken.
 *
 * @module
 */
import { once } from 'node:events'
import type { Command } from 'commander'
import { print, printable } from '../output.ts'

interface VerifyOptions {
  dir: string
  case?: string
}

interface ExportOptions {
  dir: string
  case: string
  out?: string
}

/** The node's metadata store in `dir`, opened read-only. */
async function openStore(dir: string): Promise<{ store: import('../../node/src/store/metadata_store.ts').MetadataStore; org: string }> {
  const { loadConfig, nodePath } = await import('../../node/src/config/load.ts')
  const { openConfiguredMetadataStore } = await import('../../node/src/store/open_metadata_store.ts')
  const { access } = await import('node:fs/promises')
  const config = await loadConfig(dir)
  const metadata = config.storage.metadata
  if (metadata.kind === 'sqlite') {
    const path = nodePath(config, metadata.database)
    await access(path).catch(() => {
      throw new Error(`no database at ${path}: has the node been started?`)
    })
  }
  return { store: await openConfiguredMetadataStore(config, { readOnly: true }), org: config.org }
}

export function register(program: Command): void {
  const audit = program.command('audit').description("check and export the node's tamper-evident audit trail (works while the node runs)")

  audit
    .command('verify')
    .description("verify the hash chain of every case's audit trail (or one); exit status 1 names the first bad entry")
    .option('--dir <dir>', 'node directory', './data')
    .option('--case <id>', 'only this case (a local case id, an external case id, or _federation)')
    .action(async (options: VerifyOptions) => {
      const { verifyStoredAuditChain } = await import('../../node/src/audit/audit_trail.ts')
      const { store } = await openStore(options.dir)
      let broken = 0
      let chains = 0
      try {
        const caseIds = options.case === undefined ? await store.audit.listCaseIds() : [options.case]
        for (const caseId of caseIds) {
          chains += 1
          const result = await verifyStoredAuditChain(store, caseId)
          if (result.ok) {
            print(`ok ${printable(caseId)} ${result.entries} entries\n`)
          } else {
            broken += 1
            print(`broken ${printable(result.caseId)} ${result.seq} ${result.reason}\n`)
          }
        }
      } finally {
        await store.close()
      }
      if (broken > 0) throw new Error(`audit trail broken: ${broken} of ${chains} chain${chains === 1 ? '' : 's'}`)
    })

  audit
    .command('export')
    .description('write the whole audit trail of a case as one JSON document { caseId, exportedAt, node, entries }')
    .requiredOption('--case <id>', 'the case (a local case id, an external case id, or _federation)')
    .option('--dir <dir>', 'node directory', './data')
    .option('--out <file>', 'write to this file (default: standard output)')
    .action(async (options: ExportOptions) => {
      const { auditExportText, FEDERATION_AUDIT_CASE } = await import('../../node/src/audit/audit_trail.ts')
      const { RequestError } = await import('#protocol')
      const { store, org } = await openStore(options.dir)
      try {
        const known =
          options.case === FEDERATION_AUDIT_CASE ||
          (await store.audit.last(options.case)) !== undefined ||
          (await store.cases.get(options.case)) !== undefined ||
          (await store.inboundShares.get(options.case)) !== undefined
        if (!known) throw new RequestError('CW_ERR_NOT_FOUND', `no case ${options.case}`)
        const pieces = auditExportText(store, options.case, { node: org, exportedAt: Math.floor(Date.now() / 1000) })
        if (options.out === undefined) {
          for await (const piece of pieces) if (!process.stdout.write(piece)) await once(process.stdout, 'drain')
        } else {
          const { createWriteStream } = await import('node:fs')
          const { Readable } = await import('node:stream')
          const { pipeline } = await import('node:stream/promises')
          await pipeline(Readable.from(pieces, { objectMode: false }), createWriteStream(options.out, { mode: 0o600 }))
        }
      } finally {
        await store.close()
      }
    })
}
