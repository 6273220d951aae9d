"""The HTTP edge: what every request passes through before and after the adapters (service/api/,
service/web/) call the domain. Request ids and the one log line per request, guards against
unusable paths and bodies, security headers, the one mapping from domain errors to responses,
the staff login guard and the per-client limits (bookings, code guesses, logins), the
request-scoped database session and download responses. The domain never imports it."""
