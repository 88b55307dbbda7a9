"""How the gateway meets the network: uvicorn, run with an HTTP protocol that bad clients
cannot exhaust (:mod:`.edge`), configured from the settings (:mod:`.run`)."""
