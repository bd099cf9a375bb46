-- The requests of bench/http_bench, for wrk: one script for every case, the
-- case and its data given after wrk's "--":
--
--   wrk ... -s requests.lua URL -- MODE KEYS KEY_FORMAT VALUE_BYTES [SECRET]
--
--   classic-get   GET /?k=KEY                       (kvs, the no-op responder)
--   classic-post  POST / auth=SECRET&KEY=VALUE      (kvs, the no-op responder)
--   etcd-range    POST /v3/kv/range {"key": KEY}    (etcd's JSON gateway; base64)
--   etcd-put      POST /v3/kv/put {"key": KEY, "value": VALUE}
--   cluster-get   GET /kv-store/keys/KEY {"causal-context": CONTEXT}
--   cluster-put   PUT /kv-store/keys/KEY {"value": VALUE, "causal-context": {}}
--                 with Authorization: Bearer SECRET
--
-- (cluster-get takes CONTEXT, a JSON object without blanks, where the
-- others take SECRET; default {}.)
--
-- Each request names a key picked at random among KEYS keys, spelled
-- string.format(KEY_FORMAT, i) for i in 0 .. KEYS-1 (http_bench wrote them
-- all before). A write's value is one of kValueVariants alphanumeric strings
-- of VALUE_BYTES bytes, picked at random too, so consecutive writes of a key
-- rarely store the bytes it already holds. Alphanumeric needs no escaping in
-- a form nor in JSON.
--
-- done() prints one line for http_bench to read:
--   wrk-result REQUESTS_PER_SECOND P50_US P99_US SOCKET_ERRORS HTTP_ERRORS REQUESTS
-- (socket errors: connect, read, write, timeout; HTTP errors: status >= 400).

local kValueVariants = 64
local kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
local kBase64 = kAlphabet .. "+/"

-- Standard base64 (RFC 4648, padded), as etcd's gateway expects bytes fields.
local function base64(bytes)
  local out = {}
  for i = 1, #bytes, 3 do
    local a, b, c = bytes:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local sextets = {math.floor(n / 262144), math.floor(n / 4096) % 64, math.floor(n / 64) % 64,
                     n % 64}
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for j = 1, 4 do
      out[#out + 1] = j <= chars and kBase64:sub(sextets[j] + 1, sextets[j] + 1) or "="
    end
  end
  return table.concat(out)
end

local function random_alphanumeric(length)
  local chars = {}
  for i = 1, length do
    local at = math.random(#kAlphabet)
    chars[i] = kAlphabet:sub(at, at)
  end
  return table.concat(chars)
end

-- Set per thread by init(): one function building the next request.
local next_request

-- Numbers the threads, so that each draws its own random sequence.
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
end

function init(args)
  local mode, key_count, key_format = args[1], tonumber(args[2]), args[3]
  local value_bytes, secret = tonumber(args[4]), args[5] or ""
  math.randomseed(os.time() * 1000 + (thread_number or 0))

  local keys, values = {}, {}
  for i = 1, key_count do keys[i] = string.format(key_format, i - 1) end
  for i = 1, kValueVariants do values[i] = random_alphanumeric(value_bytes) end
  local function pick(list) return list[math.random(#list)] end
  local json = {["Content-Type"] = "application/json"}

  if mode == "classic-get" then
    -- Formatted once: only the random choice is left per request.
    local requests = {}
    for i = 1, key_count do requests[i] = wrk.format("GET", "/?k=" .. keys[i]) end
    next_request = function() return pick(requests) end
  elseif mode == "classic-post" then
    local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
    local prefix = "auth=" .. secret .. "&"
    next_request = function()
      return wrk.format("POST", "/", headers, prefix .. pick(keys) .. "=" .. pick(values))
    end
  elseif mode == "etcd-range" then
    local requests = {}
    for i = 1, key_count do
      requests[i] = wrk.format("POST", "/v3/kv/range", json,
                               '{"key":"' .. base64(keys[i]) .. '"}')
    end
    next_request = function() return pick(requests) end
  elseif mode == "etcd-put" then
    local encoded_keys, encoded_values = {}, {}
    for i = 1, key_count do encoded_keys[i] = base64(keys[i]) end
    for i = 1, kValueVariants do encoded_values[i] = base64(values[i]) end
    next_request = function()
      return wrk.format("POST", "/v3/kv/put", json,
                        '{"key":"' .. pick(encoded_keys) .. '","value":"' ..
                          pick(encoded_values) .. '"}')
    end
  elseif mode == "cluster-get" then
    local context = (args[5] or "") ~= "" and args[5] or "{}"
    local requests = {}
    for i = 1, key_count do
      requests[i] = wrk.format("GET", "/kv-store/keys/" .. keys[i], json,
                               '{"causal-context":' .. context .. '}')
    end
    next_request = function() return pick(requests) end
  elseif mode == "cluster-put" then
    local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. secret}
    next_request = function()
      return wrk.format("PUT", "/kv-store/keys/" .. pick(keys), headers,
                        '{"value":"' .. pick(values) .. '","causal-context":{}}')
    end
  else
    error("requests.lua: unknown mode '" .. tostring(mode) ..
          "' (classic-get, classic-post, etcd-range, etcd-put, cluster-get, cluster-put)")
  end
end

function request()
  return next_request()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk-result %.1f %d %d %d %d %d\n",
                         summary.requests / (summary.duration / 1e6),
                         latency:percentile(50), latency:percentile(99),
                         e.connect + e.read + e.write + e.timeout, e.status, summary.requests))
end
