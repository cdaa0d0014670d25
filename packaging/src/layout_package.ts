/**
 * The layout of a built package in its format.
 *
 * @module
 */
import type { BuiltPackage } from './contents.ts'
import { layoutIso, type IsoOptions } from './iso.ts'
import type { Layout, PackageMember } from './layout.ts'
import { layoutTar } from './tar.ts'
import { layoutZip } from './zip.ts'

/** Lays out `built.members` as its manifest's format says. */
export function layoutPackage(built: Pick<BuiltPackage, 'manifest' | 'members'>, isoOptions?: IsoOptions): Layout {
  return layoutMembers(built.manifest.options.format, built.members, isoOptions)
}

/**
 * Lays out `members` in `format`: the same members in the same order give the same bytes, so a
 * node that kept a package's members streams it again without its manifest.
 */
export function layoutMembers(format: Layout['format'], members: readonly PackageMember[], isoOptions?: IsoOptions): Layout {
  switch (format) {
    case 'zip':
      return layoutZip(members)
    case 'tar':
      return layoutTar(members)
    case 'iso':
      return layoutIso(members, { volumeId: 'CASEWAY', ...isoOptions })
  }
}
