/**
 * The local API on a real test context, for `app.inject`: an admin and a member token, and
 * the list of registered routes (to compare with the OpenAPI document).
 */
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify'
import { localApp } from '../../src/local/app.ts'
import { createToken } from '../../src/access/tokens.ts'
import { createTestContext, type TestContext, type TestContextOptions } from './context.ts'

export interface TestApp extends TestContext {
  app: FastifyInstance
  adminToken: string
  memberToken: string
  /** Every route registered, as `METHOD url` (fastify syntax, `:param`). */
  routes: string[]
  /** `inject` with the admin's (default) or another bearer token; `token: null` sends none. */
  call(options: InjectOptions & { token?: string | null }): Promise<LightMyRequestResponse>
}

export async function createTestApp(options: TestContextOptions = {}): Promise<TestApp> {
  const tc = await createTestContext(options)
  const app = Fastify({ logger: false, bodyLimit: tc.ctx.config.limits.jsonBodyBytes })
  const routes: string[] = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push(`${method} ${route.url}`)
  })
  await app.register(localApp, { ctx: tc.ctx })
  await app.ready()
  const adminToken = (await createToken(tc.ctx, { userId: 'admin-1', role: 'admin' })).token
  const memberToken = (await createToken(tc.ctx, { userId: 'det-smith', role: 'member' })).token
  return {
    ...tc,
    app,
    adminToken,
    memberToken,
    routes,
    call({ token, ...rest }) {
      const headers = { ...(rest.headers ?? {}) } as Record<string, string>
      const bearer = token === undefined ? adminToken : token
      if (bearer !== null) headers['authorization'] = `Bearer ${bearer}`
      return app.inject({ ...rest, headers })
    },
    async close() {
      await app.close()
      await tc.close()
    },
  }
}
