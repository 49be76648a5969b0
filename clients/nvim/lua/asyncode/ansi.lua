-- ANSI SGR colours -> highlight groups. `M.parse(state, text)` turns text with escape
-- sequences into pieces {text, group}; the state carries colours across chunks.
local M = {}

local palette = {
  [0] = '#000000', '#cd3131', '#0dbc79', '#e5e510', '#2472c8', '#bc3fbc', '#11a8cd', '#e5e5e5',
  '#666666', '#f14c4c', '#23d18b', '#f5f543', '#3b8eea', '#d670d6', '#29b8db', '#ffffff',
}

local function xterm256(n)
  if n < 16 then
    return palette[n]
  elseif n < 232 then
    n = n - 16
    local steps = { 0, 95, 135, 175, 215, 255 }
    local r, g, b = math.floor(n / 36), math.floor(n / 6) % 6, n % 6
    return string.format('#%02x%02x%02x', steps[r + 1], steps[g + 1], steps[b + 1])
  end
  local v = 8 + (n - 232) * 10
  return string.format('#%02x%02x%02x', v, v, v)
end

local defined = {}

--- The highlight group for a colour state (nil for plain text), defined on first use.
local function group(st)
  if not (st.fg or st.bg or st.bold or st.italic or st.underline) then
    return nil
  end
  local name = 'AsyncodeAnsi'
    .. (st.fg and ('F' .. tostring(st.fg):gsub('#', 'x')) or '')
    .. (st.bg and ('B' .. tostring(st.bg):gsub('#', 'x')) or '')
    .. (st.bold and 'Bold' or '')
    .. (st.italic and 'Italic' or '')
    .. (st.underline and 'Underline' or '')
  if not defined[name] then
    local spec = { bold = st.bold or nil, italic = st.italic or nil, underline = st.underline or nil }
    for key, v in pairs({ fg = st.fg, bg = st.bg }) do
      if type(v) == 'number' then
        spec[key] = xterm256(v)
        spec['cterm' .. key] = v
      elseif v then
        spec[key] = v
      end
    end
    spec.cterm = { bold = st.bold or nil, italic = st.italic or nil, underline = st.underline or nil }
    vim.api.nvim_set_hl(0, name, spec)
    defined[name] = true
  end
  return name
end

--- Groups are cleared by :highlight clear (a colorscheme change): define them again.
function M.reset()
  defined = {}
end

local function apply(st, params)
  local codes = {}
  for n in ((params == '' and '0' or params) .. ';'):gmatch('([^;:]*)[;:]') do
    table.insert(codes, tonumber(n) or 0)
  end
  local i = 1
  while i <= #codes do
    local c = codes[i]
    if c == 0 then
      st.fg, st.bg, st.bold, st.italic, st.underline = nil, nil, nil, nil, nil
    elseif c == 1 then
      st.bold = true
    elseif c == 3 then
      st.italic = true
    elseif c == 4 then
      st.underline = true
    elseif c == 22 then
      st.bold = nil
    elseif c == 23 then
      st.italic = nil
    elseif c == 24 then
      st.underline = nil
    elseif c >= 30 and c <= 37 then
      st.fg = c - 30
    elseif c >= 90 and c <= 97 then
      st.fg = c - 90 + 8
    elseif c == 39 then
      st.fg = nil
    elseif c >= 40 and c <= 47 then
      st.bg = c - 40
    elseif c >= 100 and c <= 107 then
      st.bg = c - 100 + 8
    elseif c == 49 then
      st.bg = nil
    elseif (c == 38 or c == 48) and codes[i + 1] == 5 and codes[i + 2] then
      st[c == 38 and 'fg' or 'bg'] = codes[i + 2]
      i = i + 2
    elseif (c == 38 or c == 48) and codes[i + 1] == 2 and codes[i + 4] then
      st[c == 38 and 'fg' or 'bg'] = string.format('#%02x%02x%02x', codes[i + 2], codes[i + 3], codes[i + 4])
      i = i + 4
    end
    i = i + 1
  end
end

--- text -> list of {text, group}; escape sequences other than colours are dropped.
--- An escape sequence cut between two chunks waits in state.pending.
function M.parse(state, text)
  if state.pending then
    text = state.pending .. text
    state.pending = nil
  end
  local pieces = {}
  local pos = 1
  while pos <= #text do
    local esc = text:find('\27', pos, true)
    if not esc then
      table.insert(pieces, { text:sub(pos), group(state) })
      break
    end
    if esc > pos then
      table.insert(pieces, { text:sub(pos, esc - 1), group(state) })
    end
    local nxt = text:sub(esc + 1, esc + 1)
    if nxt == '' then
      state.pending = text:sub(esc)
      break
    elseif nxt == '[' then
      local s, e, params, final = text:find('^%[([0-9;:?]*)([@-~])', esc + 1)
      if not s then
        if not text:find('[@-~]', esc + 2) then
          state.pending = text:sub(esc)
          break
        end
        pos = esc + 2
      else
        if final == 'm' then
          apply(state, params)
        end
        pos = e + 1
      end
    elseif nxt == ']' then
      local e = text:find('\7', esc + 2, true) or select(2, text:find('\27\\', esc + 2, true))
      if not e then
        state.pending = text:sub(esc)
        break
      end
      pos = e + 1
    else
      pos = esc + 2
    end
  end
  return pieces
end

--- Text without escape sequences.
function M.strip(text)
  local out = {}
  for _, p in ipairs(M.parse({}, text)) do
    table.insert(out, p[1])
  end
  return table.concat(out)
end

return M
