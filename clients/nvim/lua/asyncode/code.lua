-- Which lines to run: a range, the statement under the cursor (found with `compile`), the
-- `# %%` cell, the whole buffer.
local client = require('asyncode.client')
local sessions = require('asyncode.sessions')

local M = {}

local function get_lines(bufnr, first, last)
  return vim.api.nvim_buf_get_lines(bufnr, first, last + 1, false)
end

local function blank(line)
  return line:match('^%s*$') ~= nil or line:match('^%s*#') ~= nil
end

local function indent_of(line)
  return #(line:match('^%s*'))
end

--- Lines with their common indentation removed: lines, bytes removed, indent width.
function M.dedent(lines)
  local common
  for _, l in ipairs(lines) do
    if not l:match('^%s*$') then
      local ws = l:match('^[ \t]*')
      if not common then
        common = ws
      else
        local n = 0
        while n < #common and n < #ws and common:sub(n + 1, n + 1) == ws:sub(n + 1, n + 1) do
          n = n + 1
        end
        common = common:sub(1, n)
      end
    end
  end
  common = common or ''
  if #common == 0 then
    return lines, 0, 0
  end
  local out = {}
  for i, l in ipairs(lines) do
    out[i] = l:sub(1, #common) == common and l:sub(#common + 1) or l:gsub('^%s+', '')
  end
  return out, #common, vim.fn.strdisplaywidth(common)
end

--- A chunk of lines first..last (0-based, inclusive), ready for runs.submit.
function M.chunk(bufnr, first, last, mode)
  local lines = get_lines(bufnr, first, last)
  -- leading and trailing blank lines are not part of the code
  while first < last and lines[1]:match('^%s*$') do
    table.remove(lines, 1)
    first = first + 1
  end
  while last > first and lines[#lines]:match('^%s*$') do
    table.remove(lines)
    last = last - 1
  end
  local code_lines, col_offset, indent = M.dedent(lines)
  return { bufnr = bufnr, first = first, last = last, code_lines = code_lines, mode = mode or 'cell',
    col_offset = col_offset, indent = indent }
end

-- Lines that continue the statement above them although they are not indented.
local function continues(line)
  return line:match('^%s*[%)%]}]') or line:match('^else%f[^%w_]') or line:match('^elif%f[^%w_]')
    or line:match('^except%f[^%w_]') or line:match('^finally%f[^%w_]')
end

-- The end of the top-level statement that starts at row `s`: the line before the next line
-- that starts a statement at column 0.
local function heuristic_end(lines, s)
  local e = s
  for i = s + 1, #lines do
    local l = lines[i]
    if not blank(l) then
      if indent_of(l) == 0 and not continues(l) then
        break
      end
      e = i
    end
  end
  return e
end

--- The top-level statement under the cursor, found with `compile`: cb(chunk or nil, why).
--- row: 0-based.
function M.statement(bufnr, row, cb)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local cur = row + 1 -- 1-based in `lines`
  if blank(lines[cur] or '') and indent_of(lines[cur] or '') == 0 then
    -- on a blank line or a comment: the statement above, if the cursor is right below it
    local i = cur
    while i > 0 and blank(lines[i]) do
      i = i - 1
    end
    if i == 0 or (lines[cur] or ''):match('^%s*$') == nil then
      return cb(nil, 'no statement under the cursor')
    end
    cur = i
  end
  -- candidate starts: column-0 lines at or above the cursor, nearest first; decorators
  -- above a def belong to it
  local starts = {}
  for i = cur, 1, -1 do
    local l = lines[i]
    if not blank(l) and indent_of(l) == 0 and not continues(l) then
      local s = i
      while s > 1 and lines[s - 1]:match('^@') do
        s = s - 1
      end
      table.insert(starts, s)
      if #starts >= 20 then
        break
      end
    end
  end
  if #starts == 0 then
    starts = { cur }
  end
  local s = sessions.for_buffer(bufnr)
  local function compile(first, last, k)
    local code = table.concat(vim.list_slice(lines, first, last), '\n')
    sessions.request(s, client.method.compile, { code = code, mode = 'cell' }, function(err, result)
      k(err and 'invalid' or result.status)
    end)
  end
  local function try(idx, fallback)
    local first = starts[idx]
    if not first then
      return cb(fallback)
    end
    local last = math.max(heuristic_end(lines, first), first)
    local function check()
      compile(first, last, function(status)
        if status == 'incomplete' and last < #lines then
          -- an open bracket or string: take the next line, and what belongs to it
          last = math.max(heuristic_end(lines, last + 1), last + 1)
          return check()
        end
        local chunk = M.chunk(bufnr, first - 1, last - 1)
        if status == 'complete' and last >= cur then
          return cb(chunk)
        end
        try(idx + 1, fallback or chunk)
      end)
    end
    check()
  end
  try(1, nil)
end

--- The `# %%` cell around row (0-based): the lines between the markers around it.
function M.cell(bufnr, row)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local function marker(l)
    return l:match('^%s*#%s*%%%%') ~= nil or l:match('^%s*# In%[') ~= nil
  end
  local first, last = 1, #lines
  for i = row + 1, 1, -1 do
    if marker(lines[i]) then
      first = i + 1
      break
    end
  end
  for i = row + 2, #lines do
    if marker(lines[i]) then
      last = i - 1
      break
    end
  end
  if first > last then
    return nil
  end
  return M.chunk(bufnr, first - 1, last - 1)
end

function M.file(bufnr)
  local n = vim.api.nvim_buf_line_count(bufnr)
  local chunk = M.chunk(bufnr, 0, n - 1, 'module')
  chunk.code_lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  chunk.first, chunk.col_offset, chunk.indent = 0, 0, 0
  return chunk
end

return M
