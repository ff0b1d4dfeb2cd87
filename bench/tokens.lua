-- hubgate bench: wrk script that rotates bearer tokens.
--
--   wrk -t1 -c32 -d10s -s bench/tokens.lua http://127.0.0.1:PORT/path -- FILE
--       FILE holds one token per line (build/hg-jwt sign --count N).
--       Every request carries "Authorization: Bearer <token i>" and
--       "X-Tenant: t<i-1>" (i-th line = tenant t<i-1>, as hg-jwt numbers
--       {i} from 0), round robin over the file.  Requests are built once
--       in init(), so wrk's per-request Lua cost is a table lookup and
--       the load generator stays far from being the bottleneck.  The same
--       headers go to every scenario, baselines included, so all requests
--       have the same size.
--
--   wrk ... -s bench/tokens.lua URL -- uuid
--       no token; every request carries a fresh 36-character X-Tenant
--       (for the shared-memory-per-key probe).
--
-- done() prints one machine-readable line that bench/run.sh parses:
--   HGBENCH requests=N duration_us=N bytes=N connect=N read=N write=N
--           status=N timeout=N
-- where status counts non-2xx/3xx responses (wrk's own accounting).

local reqs = {}
local n = 0
local i = 0
local uuid_mode = false
local seq = 0

function init(args)
   local file = args[1]

   if file == nil then
      error("tokens.lua: pass a token file (or 'uuid') after --")
   end

   if file == "uuid" then
      uuid_mode = true
      -- distinct per thread and per run
      seq = math.floor(os.time() % 100000) * 1000000
      return
   end

   for line in io.lines(file) do
      if #line > 0 then
         n = n + 1
         reqs[n] = wrk.format("GET", wrk.path, {
            ["Authorization"] = "Bearer " .. line,
            ["X-Tenant"] = "t" .. (n - 1),
         })
      end
   end

   if n == 0 then
      error("tokens.lua: no tokens in " .. file)
   end
end

function request()
   if uuid_mode then
      seq = seq + 1
      local key = string.format("%08x-0000-4000-8000-%012x", seq % 4294967296,
                                seq)
      return wrk.format("GET", wrk.path, { ["X-Tenant"] = key })
   end

   i = i + 1
   if i > n then
      i = 1
   end
   return reqs[i]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "HGBENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d " ..
      "write=%d status=%d timeout=%d\n",
      summary.requests, summary.duration, summary.bytes, e.connect, e.read,
      e.write, e.status, e.timeout))
end
