/**
 * The Caseway gateway node.
 *
 * @module
 */
export { createNode, LOG_REDACT, type CasewayNode, type CreateNodeOptions } from './node.ts'
export { initNode, S3_KEY_ENV, type InitNodeOptions, type InitS3Options, type InitializedNode } from './init_node.ts'
export { loadConfig, parseConfig, ConfigError, CONFIG_FILE } from './config/load.ts'
export type { NodeConfig } from './config/schema.ts'
export { createToken } from './access/tokens.ts'
export {
  verifyWebhookSignature,
  signWebhookBody,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_EVENT_ID_HEADER,
  WEBHOOK_TOLERANCE_SECONDS,
  type WebhookVerification,
} from './notifications/signature.ts'
export type { ShareReceivedEvent } from './notifications/webhook.ts'
