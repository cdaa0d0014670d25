/**
 * Case packages shared with a link: ZIP, TAR and ISO writers laid out in advance and streamed
 * with flat memory, the package contents (signed manifest, SHA256SUMS, VERIFY.txt, table of
 * contents, audit trail), safe names, and offline verification. Imports only `protocol/` and
 * `node:` built-ins.
 *
 * @module
 */
export type { PackageMember, Layout, Segment, BytesSegment, ContentSegment } from './layout.ts'
export { streamLayout, type OpenContent, type ByteRange } from './stream.ts'
export { layoutZip } from './zip.ts'
export { layoutTar, tarHeader, tarPadding, TAR_END_BYTES, type TarMember } from './tar.ts'
export { layoutIso, ISO_MAX_EXTENT, type IsoOptions } from './iso.ts'
export { allocatePaths, safeComponent, MAX_COMPONENT_UNITS, MAX_COMPONENT_BYTES, type NamedItem } from './names.ts'
export { buildPackage, packageContent, digestContent, renderSha256Sums } from './contents.ts'
export type { BuildPackageInput, BuiltPackage, PackageEvidence, MemberSource, OpenEvidence } from './contents.ts'
export { layoutPackage, layoutMembers } from './layout_package.ts'
export { verifyPackage, packageManifestDigest, type VerifyPackageOptions, type VerifiedPackage } from './verify.ts'
export { openPackage } from './read/open.ts'
export type { PackageReader, ReadEntry } from './read/entry.ts'
