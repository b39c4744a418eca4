import type { Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { sendJson } from './rest-router.ts';

export interface SignInLimit {
  /** Failed sign-ins allowed per client address in the window; default 30. */
  readonly max?: number;
  /** Window in ms; default 15 minutes. */
  readonly windowMs?: number;
}

/**
 * Counts only refused tokens (401) per client address, so a guessing client is slowed down while a busy client
 * with a good token never is. Every interface signs in the same way (REST, GraphQL, the console through REST,
 * /metrics), so one limiter in front of them all covers them all.
 */
export function failedSignInLimiter(limit: SignInLimit = {}): RequestHandler {
  const windowMs = limit.windowMs ?? 15 * 60_000;
  return rateLimit({
    windowMs,
    limit: limit.max ?? 30,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req: Request, res: Response) => res.statusCode !== 401,
    // Requests without an Authorization header are anonymous (probes, the console's files), not sign-ins.
    skip: (req: Request) => req.headers.authorization === undefined,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Behind a proxy every client shares its address; express's `trust proxy` is the documented way to change that.
    validate: { xForwardedForHeader: false },
    handler: (_req: Request, res: Response) => {
      res.locals.route = 'sign-in-limited';
      sendJson(res, 429, { message: 'Too many refused tokens from this address; try again in %1 seconds.', parameters: [Math.ceil(windowMs / 1000)] }, { 'retry-after': String(Math.ceil(windowMs / 1000)) });
    },
  });
}
