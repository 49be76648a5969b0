-- Columns: Neovim counts bytes of UTF-8; the daemon counts in the `positionEncoding` that
-- `initialize` answered ('utf-8', 'utf-16', or 'utf-32', code points, revision 0's unit).
-- Pure Lua, so it behaves the same on every Neovim (vim.str_utfindex changed in 0.11).
local M = {}

-- Length in bytes of the UTF-8 sequence that starts with byte b.
local function seq_len(b)
  if b < 0x80 then
    return 1
  elseif b >= 0xF0 then
    return 4
  elseif b >= 0xE0 then
    return 3
  elseif b >= 0xC0 then
    return 2
  end
  return 1 -- a stray continuation byte counts as one unit
end

local function units(len, encoding)
  if encoding == 'utf-8' then
    return len
  elseif encoding == 'utf-16' then
    return len == 4 and 2 or 1
  end
  return 1
end

--- Byte offset `col` (0-based) of `line` -> offset in `encoding`.
function M.to_wire(line, col, encoding)
  if encoding == 'utf-8' then
    return col
  end
  local i, n = 1, 0
  while i <= col and i <= #line do
    local len = seq_len(line:byte(i))
    n = n + units(len, encoding)
    i = i + len
  end
  return n
end

--- Offset `pos` in `encoding` -> byte offset in `line` (clamped to the line's length).
function M.from_wire(line, pos, encoding)
  if encoding == 'utf-8' then
    return math.min(pos, #line)
  end
  local i, n = 1, 0
  while n < pos and i <= #line do
    local len = seq_len(line:byte(i))
    n = n + units(len, encoding)
    i = i + len
  end
  return i - 1
end

return M
