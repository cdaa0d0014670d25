/**
 * `caseway case create|list|upload`: the agency's cases through the running node's local API,
 * as the token's user (`--token`, else `CASEWAY_TOKEN`, else the node directory's
 * `admin.token`): a member sees and changes only the cases it owns or works on.
 *
 * `upload` streams the file from disk as the request body (never read whole into memory, so
 * any size works) and shows progress on stderr; the stored evidence's id and SHA-256 digest go
 * to stdout. Given several files, it sends them in batches (CW-LOC-056), each batch stored
 * whole or not at all, each file still read from disk only as it is sent.
 *
 * @module
 */
import type { Command } from 'commander'
import type { Case, CaseFields, Evidence } from '../../client/local_client.ts'
import { UsageError } from '../errors.ts'
import { apiOptions, connect, throughApi, type ApiOptions } from '../local_api.ts'
import { fields, isoTime, print, printable } from '../output.ts'

interface JsonOption {
  json?: boolean
}

interface CreateOptions extends ApiOptions, JsonOption {
  field: CaseFields
}

interface UploadOptions extends ApiOptions, JsonOption {
  category: string
  name?: string
  mediaType?: string
  folder?: string
  doNotDisclose?: boolean
}

/** A repeatable `--field key=value`; a key given twice becomes a list. */
function collectField(value: string, previous: CaseFields = {}): CaseFields {
  const at = value.indexOf('=')
  if (at <= 0) throw new UsageError(`--field takes key=value, not ${JSON.stringify(value)}`)
  const key = value.slice(0, at)
  const given = value.slice(at + 1)
  const before = previous[key]
  const next = before === undefined ? given : [...(Array.isArray(before) ? before : [before]), given]
  return { ...previous, [key]: next }
}

function describeFields(caseFields: CaseFields): string {
  const entries = Object.entries(caseFields)
  if (entries.length === 0) return '-'
  return entries.map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : value}`).join(' ')
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2) + '\n')
}

export function register(program: Command): void {
  const cases = program.command('case').description("the agency's cases and their evidence, through the running node's local API")

  apiOptions(
    cases
      .command('create')
      .description('create a case and print its id')
      .option('--field <key=value>', 'a case field (caseNumber, title, …); repeat it for more, or the same key for a list', collectField, {})
      .option('--json', 'print the new case as JSON'),
  ).action(async (options: CreateOptions) => {
    const client = await connect(options)
    const created: Case = await throughApi(client.baseUrl, () => client.createCase(options.field))
    if (options.json === true) printJson(created)
    else print(`${created.id}\n`)
  })

  apiOptions(
    cases
      .command('list')
      .description("list the cases the token's user owns or works on (every case for an administrator), newest first")
      .option('--json', 'print the list as JSON'),
  ).action(async (options: ApiOptions & JsonOption) => {
    const client = await connect(options)
    const list = await throughApi(client.baseUrl, () => client.listCases())
    if (options.json === true) {
      printJson(list)
      return
    }
    print('ID                                    CREATED               IMPORTED FROM  FIELDS\n')
    for (const item of list) {
      print(
        `${item.id.padEnd(36)}  ${isoTime(item.createdAt).padEnd(20)}  ${printable(item.importedFrom ?? '-').padEnd(13)}  ${printable(describeFields(item.fields))}\n`,
      )
    }
  })

  apiOptions(
    cases
      .command('upload')
      .description('upload files as evidence of a case, streamed from disk, with progress on stderr (several: in batches of 100)')
      .argument('<caseId>', 'the case (from case list)')
      .argument('<files...>', 'the files to upload')
      .requiredOption('--category <category>', 'evidence category: lowercase letters, digits and dashes (video, photo, document, …)')
      .option('--name <name>', "the evidence name (default: the file's name; one file only)")
      .option('--media-type <type>', 'media type (default application/octet-stream)')
      .option('--folder <id>', 'a folder of the case')
      .option('--do-not-disclose', 'never share this evidence with any partner')
      .option('--json', 'print the stored evidence as JSON'),
  ).action(async (caseId: string, files: string[], options: UploadOptions) => {
    if (files.length > 1) {
      if (options.name !== undefined) throw new UsageError('--name names one file: give one file, or let each be named after its file')
      const stored = await uploadMany(caseId, files, options)
      if (options.json === true) {
        printJson(stored)
        return
      }
      for (const evidence of stored) print(`${evidence.id}  ${String(evidence.size).padStart(12)}  ${evidence.digest}  ${printable(evidence.name)}\n`)
      return
    }
    const evidence = await upload(caseId, files[0]!, options)
    if (options.json === true) {
      printJson(evidence)
      return
    }
    print(
      fields([
        ['evidence', evidence.id],
        ['size', `${evidence.size} bytes`],
        ['digest', evidence.digest],
      ]),
    )
  })
}

/** Files per batch request: the node takes up to 1,000; a failed batch costs at most this many files' transfer. */
const FILES_PER_BATCH = 100

/**
 * Uploads `files` in batches of {@link FILES_PER_BATCH}, in order, each file read from disk as
 * it is sent (`fs.openAsBlob`). Every file is checked to be a readable regular file first. A
 * refused batch stops the upload: the error names the file and says how many are stored.
 */
async function uploadMany(caseId: string, files: readonly string[], options: UploadOptions): Promise<Evidence[]> {
  const { openAsBlob } = await import('node:fs')
  const { stat } = await import('node:fs/promises')
  const { basename } = await import('node:path')
  const { TransferProgress } = await import('../progress.ts')
  let total = 0
  for (const file of files) {
    const found = await stat(file).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, { cause: error })
    })
    if (!found.isFile()) throw new UsageError(`${file} is not a regular file: give files, not directories or devices`)
    total += found.size
  }
  const client = await connect(options)
  const progress = new TransferProgress(`uploading ${files.length} files`, total)
  const stored: Evidence[] = []
  let sent = 0
  for (let from = 0; from < files.length; from += FILES_PER_BATCH) {
    const batch = files.slice(from, from + FILES_PER_BATCH)
    const items = await Promise.all(
      batch.map(async (file) => {
        const content = await openAsBlob(file)
        return {
          metadata: {
            name: basename(file),
            category: options.category,
            ...(options.mediaType === undefined ? {} : { mediaType: options.mediaType }),
            ...(options.folder === undefined ? {} : { folderId: options.folder }),
            ...(options.doNotDisclose === true ? { doNotDisclose: true } : {}),
          },
          content,
        }
      }),
    )
    try {
      stored.push(...(await throughApi(client.baseUrl, () => client.uploadEvidenceBatch(caseId, items))))
    } catch (error) {
      progress.abandon()
      throw inFile(error, batch, stored.length)
    }
    sent += items.reduce((sum, item) => sum + item.content.size, 0)
    progress.update(sent)
  }
  progress.finish()
  return stored
}

/** A refused batch's error, naming the file its problem points at (`at` `/<index>/…`) and what is stored. */
function inFile(error: unknown, batch: readonly string[], storedBefore: number): unknown {
  if (!(error instanceof Error)) return error
  const at = (error.cause as { problem?: { at?: string } } | undefined)?.problem?.at
  const index = at === undefined ? undefined : Number(/^\/(\d+)/.exec(at)?.[1])
  const file = index === undefined ? undefined : batch[index]
  const detail = file === undefined ? error.message : `${file}: ${error.message.replace(/^item \d+: /, '')}`
  const stored = storedBefore === 0 ? 'no file is stored' : `the ${storedBefore} files before this batch are stored`
  return Object.assign(new Error(`${detail} (nothing of this batch of ${batch.length} is stored; ${stored})`, { cause: error }), {
    code: (error as Error & { code?: string }).code,
  })
}

async function upload(caseId: string, file: string, options: UploadOptions): Promise<Evidence> {
  const { createReadStream } = await import('node:fs')
  const { stat } = await import('node:fs/promises')
  const { basename } = await import('node:path')
  const { TransferProgress } = await import('../progress.ts')
  const found = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, { cause: error })
  })
  if (found.isDirectory()) throw new UsageError(`${file} is a directory: upload one file at a time`)
  const name = options.name ?? basename(file)
  const client = await connect(options)
  // A regular file's size is known; a pipe or device streams until it ends.
  const progress = new TransferProgress(`uploading ${printable(name)}`, found.isFile() ? found.size : undefined)

  let readError: Error | undefined
  async function* body(): AsyncGenerator<Uint8Array> {
    let sent = 0
    try {
      for await (const piece of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        yield piece
        sent += piece.byteLength
        progress.update(sent)
      }
    } catch (error) {
      readError = error as Error
      throw error
    }
    progress.finish()
  }

  try {
    return await throughApi(client.baseUrl, () =>
      client.uploadEvidence(
        caseId,
        {
          name,
          category: options.category,
          ...(options.mediaType === undefined ? {} : { mediaType: options.mediaType }),
          ...(options.folder === undefined ? {} : { folderId: options.folder }),
          ...(options.doNotDisclose === true ? { doNotDisclose: true } : {}),
        },
        body(),
      ),
    )
  } catch (error) {
    progress.abandon()
    if (readError !== undefined) throw new Error(`cannot read ${file}: ${readError.message}`, { cause: error })
    throw error
  }
}
