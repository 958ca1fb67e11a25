"""The one HTTP layer every source uses: a resilient session (retries, Retry-After, errors without secrets),
client-side pacing learned from the vendors' rate-limit headers, OAuth refresh-token auth, a dlt REST client
over the session, and progress reporting."""
