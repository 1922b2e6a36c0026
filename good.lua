server.listen = '0.0.0.0:9000'
limits.body_bytes = 2 * MiB
store.synchronous = 'normal'
limits.per_ip = 5
limits.per_ip = limits.per_ip + 1
auth.tokens = { { name = 'bot', role = 'ingest', sha256 = string.rep('ab', 32) } }
