/**
 * The layout of a built package in its format.
 *
 * @module
 */
import type { BuiltPackage } from './contents.ts'
import { layoutIso, type IsoOptions } from './iso.ts'
import type { Layout } from './layout.ts'
import { layoutTar } from './tar.ts'
import { layoutZip } from './zip.ts'

/** Lays out `built.members` as its manifest's format says. */
export function layoutPackage(built: Pick<BuiltPackage, 'manifest' | 'members'>, isoOptions?: IsoOptions): Layout {
  switch (built.manifest.options.format) {
    case 'zip':
      return layoutZip(built.members)
    case 'tar':
      return layoutTar(built.members)
    case 'iso':
      return layoutIso(built.members, { volumeId: 'CASEWAY', ...isoOptions })
  }
}
