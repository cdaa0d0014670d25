/**
 * The one place that loads @peculiar/x509 (certificate parsing and building over WebCrypto).
 * It needs the Reflect metadata polyfill before it loads and a crypto provider set once.
 *
 * @module
 */
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

export { x509 }
