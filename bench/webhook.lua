-- hubgate webhook bench: wrk script that POSTs signed Stripe webhooks.
--
--   wrk -t1 -c16 -d5s -s bench/webhook.lua URL -- FILE fixed
--       FILE's first line is "<Stripe-Signature value>\t<body>"; every
--       request is that one POST, built once in init() (verify + forward
--       scenario: the same valid signature every time).
--
--   wrk ... -s bench/webhook.lua URL -- FILE stream
--       one line of FILE per request, in order: each request is a
--       distinct, separately signed event (durable intake scenario).
--       bench/webhook.sh writes more lines than a run can use; should a
--       run reach the end anyway it starts over (those requests are
--       redeliveries, which the intake answers without a new row) and
--       done() reports how often in "wrapped=".
--
-- Every request carries Content-Type: application/json and
-- Stripe-Signature.  done() prints the line bench/webhook.sh parses:
--   HGBENCH requests=N duration_us=N bytes=N connect=N read=N write=N
--           status=N timeout=N sent=N wrapped=N
-- (status: non-2xx/3xx responses; sent: requests built by request()).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

local fixed = nil
local fh = nil
local file = nil
sent = 0
wrapped = 0

local function build(line)
   local tab = string.find(line, "\t", 1, true)
   if tab == nil then
      error("webhook.lua: no tab in a line of " .. file)
   end
   return wrk.format("POST", wrk.path, {
      ["Content-Type"] = "application/json",
      ["Stripe-Signature"] = string.sub(line, 1, tab - 1),
   }, string.sub(line, tab + 1))
end

function init(args)
   file = args[1]
   local mode = args[2] or "fixed"

   if file == nil then
      error("webhook.lua: pass a request file (and fixed|stream) after --")
   end

   if mode == "fixed" then
      local f = assert(io.open(file, "r"))
      local line = f:read("*l")
      f:close()
      if line == nil or #line == 0 then
         error("webhook.lua: " .. file .. " is empty")
      end
      fixed = build(line)
   elseif mode == "stream" then
      fh = assert(io.open(file, "r"))
   else
      error("webhook.lua: mode is fixed or stream, not " .. mode)
   end
end

function request()
   sent = sent + 1
   if fixed ~= nil then
      return fixed
   end

   local line = fh:read("*l")
   if line == nil or #line == 0 then
      wrapped = wrapped + 1
      fh:close()
      fh = assert(io.open(file, "r"))
      line = fh:read("*l")
   end
   return build(line)
end

function done(summary, latency, requests)
   local e = summary.errors
   local s, w = 0, 0
   for _, t in ipairs(threads) do
      s = s + (t:get("sent") or 0)
      w = w + (t:get("wrapped") or 0)
   end
   io.write(string.format(
      "HGBENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d " ..
      "write=%d status=%d timeout=%d sent=%d wrapped=%d\n",
      summary.requests, summary.duration, summary.bytes, e.connect, e.read,
      e.write, e.status, e.timeout, s, w))
end
