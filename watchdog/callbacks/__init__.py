"""LiteLLM's per-request callbacks: the ingest route, the payload reader, dimension spend.

LiteLLM's `generic_api` logger POSTs batches of standard logging payloads to
`/callbacks/litellm` (`endpoint`); `payload` reads them into request records the store keeps;
`spend` turns the stored requests into the spend of each `scope: dimension` budget per cycle.
"""
