-- Rich results (MimeBundle): text as text/markdown or text/plain; images saved to a file.
local config = require('asyncode.config')

local M = {}

local b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local b64_index = {}
for i = 1, #b64 do
  b64_index[b64:byte(i)] = i - 1
end

--- Decode base64 (pure Lua: vim.base64 is 0.10+). Whitespace is skipped.
function M.base64_decode(s)
  local out, bits, n = {}, 0, 0
  for i = 1, #s do
    local v = b64_index[s:byte(i)]
    if v then
      bits = bits * 64 + v
      n = n + 6
      if n >= 8 then
        n = n - 8
        local byte = math.floor(bits / 2 ^ n)
        table.insert(out, string.char(byte))
        bits = bits - byte * 2 ^ n
      end
    elseif s:sub(i, i) == '=' then
      break
    end
  end
  return table.concat(out)
end

local image_types = {
  { mime = 'image/png', ext = 'png', base64 = true },
  { mime = 'image/jpeg', ext = 'jpg', base64 = true },
  { mime = 'image/gif', ext = 'gif', base64 = true },
  { mime = 'image/svg+xml', ext = 'svg', base64 = false },
}

local counter = 0

function M.image_dir()
  return config.values.image_dir or (vim.fn.stdpath('cache') .. '/asyncode/images')
end

--- Save the bundle's first image to a file; returns its path and type, or nil.
function M.save_image(bundle)
  for _, t in ipairs(image_types) do
    local data = bundle[t.mime]
    if type(data) == 'string' and data ~= '' then
      local dir = M.image_dir()
      vim.fn.mkdir(dir, 'p')
      counter = counter + 1
      local path = string.format('%s/%d-%d.%s', dir, vim.fn.getpid(), counter, t.ext)
      local f = io.open(path, 'wb')
      if not f then
        return nil
      end
      f:write(t.base64 and M.base64_decode(data) or data)
      f:close()
      return path, t.mime
    end
  end
  return nil
end

--- The text to show for a bundle: lines of text/markdown, else text/plain.
function M.text(bundle)
  local text = bundle['text/markdown'] or bundle['text/plain']
  if type(text) ~= 'string' then
    if bundle['application/json'] ~= nil then
      text = vim.json.encode(bundle['application/json'])
    else
      text = ''
    end
  end
  return text
end

--- {lines = {...}, image = path?}: what to show of a bundle.
function M.render(bundle)
  local lines = {}
  local path, mime = M.save_image(bundle)
  if path then
    table.insert(lines, string.format('[%s: %s]', mime, path))
  end
  local text = M.text(bundle)
  if text ~= '' and not (path and text:match('^<.*>$')) then
    for _, l in ipairs(vim.split(text, '\n', { plain = true })) do
      table.insert(lines, l)
    end
  end
  return { lines = lines, image = path }
end

return M
