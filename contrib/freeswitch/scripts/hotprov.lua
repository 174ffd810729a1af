-- hotprov hot desking for FreeSWITCH: *35, *35*EXT and *35*EXT*PIN from any phone.
-- Called from dialplan/hotprov.xml as: lua hotprov.lua ${destination_number}
-- Needs mod_lua and the curl command.
-- Several tenants on this FreeSWITCH: each tenant's dialplan context sets hotprov_tenant to its slug before
-- calling this script (dialplan/hotprov.xml), and TENANT_TOKENS holds that tenant's token. The call then goes to
-- /api/v1/tenants/<slug>/hotdesk/code, which refuses a token of another tenant rather than seat anyone there.

local API = "http://hotprov.example.com:8080/api/v1"
local TOKEN = "replace-with-the-api-token"
-- One admin token per tenant (POST /api/v1/tenants/<slug>/tokens), by slug; empty for a single tenant.
local TENANT_TOKENS = {
  -- ["acme"] = "replace-with-acme-s-token",
}
-- hotprov's prompts are Asterisk core sound names; FreeSWITCH's own sounds for each:
local SOUNDS = {
  ["activated"] = "ivr/ivr-you_are_now_logged_in.wav",
  ["de-activated"] = "ivr/ivr-you_are_now_logged_out.wav",
  ["extension"] = "ivr/ivr-please_enter_extension_followed_by_pound.wav",
  ["confbridge-pin"] = "ivr/ivr-please_enter_pin_followed_by_pound.wav",
  ["vm-incorrect"] = "ivr/ivr-pin_or_extension_is-invalid.wav",
  ["confbridge-pin-bad"] = "ivr/ivr-pin_or_extension_is-invalid.wav",
  ["feature-not-avail-line"] = "ivr/ivr-that_was_an_invalid_entry.wav",
  ["pbx-invalid"] = "ivr/ivr-that_was_an_invalid_entry.wav",
  ["cannot-complete-as-dialed"] = "ivr/ivr-that_was_an_invalid_entry.wav",
  ["please-try-call-later"] = "ivr/ivr-please_try_again_later.wav",
  ["vm-goodbye"] = "voicemail/vm-goodbye.wav",
}

-- Only characters that are safe on a shell command line reach it.
local function clean(text, allowed)
  return (tostring(text or ""):gsub("[^" .. allowed .. "]", ""))
end

local function code(api, token, device, digits, contact)
  local body = string.format('{"device":"%s","digits":"%s","contact":"%s"}', device, digits, contact)
  -- Token and PIN go to curl in a config file, not on its command line where `ps` would show them.
  local config = os.tmpname()
  local file = io.open(config, "w")
  file:write('header = "Content-Type: application/json"\n')
  file:write(string.format('header = "Authorization: Bearer %s"\n', token))
  file:write(string.format('data = "%s"\n', (body:gsub('"', '\\"'))))
  file:close()
  local pipe = io.popen(string.format("curl -s --connect-timeout 3 -m 5 --config '%s' '%s/hotdesk/code'", config, api))
  local answer = pipe:read("*a") or ""
  pipe:close()
  os.remove(config)
  return answer:match('"result":"([%w_]+)"'), answer:match('"prompt":"([%w%-]+)"')
end

local digits = clean(argv[1], "%d%*#")
local tenant = clean(session:getVariable("hotprov_tenant"), "%l%d%-")
local api, token = API, TOKEN
if tenant ~= "" then
  -- A tenant without a token here gets no call at all: "try again later", as for a refused token.
  api, token = API .. "/tenants/" .. tenant, TENANT_TOKENS[tenant] or ""
end
local device = clean(session:getVariable("sip_from_user"), "%w%.%-_")
local contact = "sip:" .. device .. "@" .. clean(session:getVariable("sip_received_ip"), "%x%.:")
  .. ":" .. clean(session:getVariable("sip_received_port"), "%d")
session:answer()
for _ = 1, 3 do
  local result, prompt = code(api, token, device, digits, contact)
  -- No answer (hotprov down, slower than curl's -m 5, or the token refused): say so rather than "invalid".
  local sound = SOUNDS[result and prompt or "please-try-call-later"] or SOUNDS["cannot-complete-as-dialed"]
  if result == "need_extension" or result == "need_pin" then
    local typed = session:playAndGetDigits(1, 15, 1, 8000, "#", sound, "", "\\d+")
    digits = digits .. "*" .. typed
  else
    session:streamFile(sound)
    break
  end
end
session:hangup()
