/**
 * `caseway package verify <file-or-dir> [--ca-fingerprint sha256:…]`: checks a case package
 * offline (SPEC.md §22): the signature chain to the package's CA certificate (and that CA's
 * fingerprint, when given), every member's size and SHA-256, that nothing was added, and the
 * audit trail. Exit 0, or 1 with one line naming the first bad member.
 *
 * @module
 */
import type { Command } from 'commander'
import { print, printable } from '../output.ts'

interface PackageVerifyOptions {
  caFingerprint?: string
}

export function register(program: Command): void {
  const pkg = program.command('package').description('case packages shared with a link (ZIP, TAR, ISO)')

  pkg
    .command('verify')
    .description('verify a case package offline: signature, CA fingerprint, every file, the audit trail; exit 1 names the first bad member')
    .argument('<file-or-dir>', 'the .zip, .tar or .iso file, or the folder it was extracted to')
    .option('--ca-fingerprint <sha256:…>', "the sender's CA fingerprint, received separately (e-mail, telephone)")
    .action(async (target: string, options: PackageVerifyOptions) => {
      const { verifyPackage } = await import('#packaging')
      const verified = await verifyPackage(target, options.caFingerprint === undefined ? {} : { caFingerprint: options.caFingerprint })
      const { manifest } = verified
      const signedAt = new Date(manifest.iat * 1000).toISOString()
      if (!verified.fingerprintChecked) {
        process.stderr.write(
          `caseway: warning: the CA was not compared with a fingerprint received separately. Compare ${verified.caFingerprint} with the one the sender gave you, or run again with --ca-fingerprint.\n`,
        )
      }
      print(
        `verified: ${verified.kind} package ${printable(manifest.jti)} of case ${printable(manifest.case.id)}, ` +
          `signed by ${printable(manifest.sender.name)} (${verified.signer.org}) on ${signedAt}; ` +
          `${verified.files} files intact${manifest.audit === undefined ? '' : `, audit trail intact to entry ${manifest.audit.seq}`}; ` +
          `CA ${verified.caFingerprint}${verified.fingerprintChecked ? ' (matches the fingerprint given)' : ''}\n`,
      )
    })
}
