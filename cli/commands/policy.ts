/**
 * `caseway policy …`: sharing policies on the running node (SPEC.md §9), through its local API
 * with an administrator's token: create one from a JSON file, list them, assign one to a
 * partner (the policy of the partner's future shares).
 *
 * @module
 */
import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import type { PolicyInput, PolicyRecord } from '../../client/local_client.ts'
import { parseOrgId, readTextInput } from '../arguments.ts'
import { apiOptions, withClient, type ApiOptions } from '../local_api.ts'
import { isoTime, print, printable, printError, table } from '../output.ts'

function parseVersion(value: string): number {
  const version = Number(value)
  if (!/^[0-9]{1,9}$/.test(value) || version < 1) throw new InvalidArgumentError('must be a whole number, at least 1')
  return version
}

/** What the policy lets the partner do, in a few words (view is always granted). */
function permissionsOf(record: PolicyRecord): string {
  const { permissions } = record.policy
  const granted = ['view']
  if (permissions.download) granted.push('download')
  if (permissions.import) granted.push('import')
  if (permissions.applyUpdates) granted.push('applyUpdates')
  if (permissions.addRecipients === true) granted.push('addRecipients')
  if (permissions.shareOnward.allowed) granted.push(`shareOnward(${permissions.shareOnward.maxDepth})`)
  return granted.join(',')
}

function duration(seconds: number): string {
  return seconds % 86_400 === 0 ? `${seconds / 86_400}d` : seconds % 3600 === 0 ? `${seconds / 3600}h` : `${seconds}s`
}

export function register(program: Command): void {
  const policy = program.command('policy').description('create, list and assign sharing policies on a running node')

  apiOptions(
    policy
      .command('create')
      .description('create a sharing policy (version 1) from a JSON file: name, permissions, content, maxDurationSeconds, optional id')
      .requiredOption('--file <file>', 'the policy as JSON, or - for stdin'),
  ).action(async (options: ApiOptions & { file: string }) => {
    const text = await readTextInput(options.file)
    let input: PolicyInput
    try {
      input = JSON.parse(text) as PolicyInput
    } catch (err) {
      throw Object.assign(new Error(`${options.file === '-' ? 'stdin' : options.file} is not JSON: ${(err as Error).message}`), { code: 'CW_ERR_MALFORMED' })
    }
    // The node checks the policy against its schema and says where a fault is.
    const created = await withClient(options, (client) => client.createPolicy(input))
    printError(`policy ${created.id} version ${created.version} (${printable(created.policy.name)}) created\n`)
    print(`${created.id}\n`)
  })

  apiOptions(policy.command('list').description('list the latest version of every policy').option('--json', 'print the list as JSON')).action(
    async (options: ApiOptions & { json?: boolean }) => {
      const policies = await withClient(options, (client) => client.listPolicies())
      if (options.json === true) {
        print(JSON.stringify(policies, null, 2) + '\n')
        return
      }
      print(
        table(
          ['POLICY', 'NAME', 'PERMISSIONS', 'MAX DURATION', 'CREATED'],
          policies.map((p) => [`${p.id}@${p.version}`, p.policy.name, permissionsOf(p), duration(p.policy.maxDurationSeconds), isoTime(p.createdAt)]),
        ),
      )
    },
  )

  apiOptions(
    policy
      .command('assign')
      .description('assign a policy to a partner: its future shares are made under it (shares made already keep theirs)')
      .argument('<org>', "the partner's organization id", parseOrgId)
      .argument('<policyId>', 'the policy id (from policy list)')
      .option('--version <n>', 'this version of the policy (default: the latest)', parseVersion),
  ).action(async (org: string, policyId: string, options: ApiOptions & { version?: number }) => {
    const partner = await withClient(options, (client) => client.assignPolicy(org, policyId, options.version))
    printError(`partner ${partner.org} (${printable(partner.name)}): policy ${partner.policyId ?? '-'}@${partner.policyVersion ?? '-'}\n`)
  })
}
